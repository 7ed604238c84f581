"""Which inbound texts opt a recipient out or back in, as Twilio's default keywords do."""

import pytest

from api.routes.twilio import OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS, opt_intent


@pytest.mark.parametrize("body", sorted(OPT_OUT_KEYWORDS))
def test_every_opt_out_keyword_opts_out(body: str) -> None:
    assert opt_intent(body) == "opt_out"


@pytest.mark.parametrize("body", sorted(OPT_IN_KEYWORDS))
def test_every_opt_in_keyword_opts_in(body: str) -> None:
    assert opt_intent(body) == "opt_in"


@pytest.mark.parametrize("body", ["stop", "  Stop\n", "\tUNSUBSCRIBE ", "cancel", "start "])
def test_keywords_are_trimmed_and_case_insensitive(body: str) -> None:
    assert opt_intent(body) is not None


@pytest.mark.parametrize(
    "body", ["", "please stop", "STOP!", "stop texting me", "HELP", "yes please", "S T O P"]
)
def test_anything_but_a_whole_keyword_is_an_ordinary_message(body: str) -> None:
    assert opt_intent(body) is None


def test_twilio_opt_out_type_wins_over_the_body() -> None:
    # Advanced Opt-Out: Twilio matched a custom or localized keyword and says so.
    assert opt_intent("Arrêt", opt_out_type="STOP") == "opt_out"
    assert opt_intent("Commencer", opt_out_type="START") == "opt_in"
    assert opt_intent("STOP", opt_out_type="HELP") is None


def test_keyword_sets_do_not_overlap() -> None:
    assert not OPT_OUT_KEYWORDS & OPT_IN_KEYWORDS
