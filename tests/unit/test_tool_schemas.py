"""The tool definitions users paste into Vapi and Retell match what the webhook accepts."""

import json
from pathlib import Path
from typing import Any

import pytest
from vapi.core.pydantic_utilities import parse_obj_as
from vapi.types import CreateFunctionToolDto

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


def test_vapi_tools_use_a_credential_a_timeout_and_a_start_message() -> None:
    """The setup Vapi recommends: `server.credentialId` (not a secret in `server.headers`), the
    org's own URL (so HMAC and renamed headers apply), `timeoutSeconds` and a `request-start`
    line, each read back through the SDK's own tool type."""
    for raw in json.loads((EXAMPLES / "vapi-tools.json").read_text()):
        tool = parse_obj_as(CreateFunctionToolDto, raw)
        assert tool.server is not None and tool.function is not None
        assert tool.server.credential_id and "headers" not in raw["server"], tool.function.name
        assert tool.server.url is not None and tool.server.url.endswith("/voice/vapi/YOUR-ORG-SLUG")
        assert tool.server.timeout_seconds is not None and 1 <= tool.server.timeout_seconds <= 300
        starts = [m for m in tool.messages or [] if getattr(m, "type", None) == "request-start"]
        assert len(starts) == 1 and 0 < len(getattr(starts[0], "content", "") or "") <= 40
