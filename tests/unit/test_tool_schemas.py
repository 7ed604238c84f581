"""The tool definitions users paste into Vapi and Retell match what the webhook accepts."""

import json
from pathlib import Path
from typing import Any

import pytest

from api.voice.tools import TOOL_ARGUMENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _schemas(file: str) -> dict[str, dict[str, Any]]:
    definitions = json.loads((EXAMPLES / file).read_text())
    return {
        (d.get("function") or d)["name"]: (d.get("function") or d)["parameters"]
        for d in definitions
    }


@pytest.mark.parametrize("file", ["vapi-tools.json", "retell-functions.json"])
def test_every_tool_is_defined_with_the_arguments_the_webhook_reads(file: str) -> None:
    schemas = _schemas(file)
    assert set(schemas) == set(TOOL_ARGUMENTS)
    for name, model in TOOL_ARGUMENTS.items():
        expected = model.model_json_schema()
        assert set(schemas[name]["properties"]) == set(expected["properties"]), name
        assert set(schemas[name]["required"]) == set(expected.get("required", [])), name
