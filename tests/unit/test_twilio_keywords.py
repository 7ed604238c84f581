"""Which inbound texts opt a recipient out or back in, as Twilio's default keywords do.

The tables are Twilio's own lists, written out here rather than read from our code. Twilio's
Messaging docs (Advanced Opt-Out) name its default English opt-out keywords: STOP,
UNSUBSCRIBE, END, QUIT, STOPALL, REVOKE, OPTOUT and CANCEL. Its support article on opt-out
keywords names START, YES and UNSTOP as the replies that opt back in, HELP and INFO as the ones
answered with help text (no change), and says only a single-word message counts: "STOP PLEASE"
or "PLEASE CANCEL" block nothing. Case and surrounding whitespace do not matter (what
`api.routes.twilio.opt_intent` promises: the trimmed body, in any case, must be one keyword).
"""

import pytest

from api.routes.twilio import opt_intent

TWILIO_OPT_OUT = ("STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL")
TWILIO_OPT_IN = ("START", "YES", "UNSTOP")
TWILIO_HELP = ("HELP", "INFO")


def variants(keyword: str) -> list[str]:
    """How a person may type it: any case, stray spaces, tabs or a trailing newline."""
    return [
        keyword,
        keyword.lower(),
        keyword.capitalize(),
        f"  {keyword}",
        f"{keyword.lower()}  ",
        f"\t{keyword.capitalize()}\n",
    ]


@pytest.mark.parametrize("body", [v for k in TWILIO_OPT_OUT for v in variants(k)])
def test_twilios_opt_out_keywords_opt_out(body: str) -> None:
    assert opt_intent(body) == "opt_out"


@pytest.mark.parametrize("body", [v for k in TWILIO_OPT_IN for v in variants(k)])
def test_twilios_opt_in_keywords_opt_back_in(body: str) -> None:
    assert opt_intent(body) == "opt_in"


@pytest.mark.parametrize("body", [v for k in TWILIO_HELP for v in variants(k)])
def test_help_keywords_change_nothing(body: str) -> None:
    assert opt_intent(body) is None


@pytest.mark.parametrize(
    "body",
    [
        # Twilio's own examples: more than the keyword is not the keyword.
        "STOP PLEASE",
        "PLEASE CANCEL",
        "STOP IT",
        "please stop",
        "stop texting me",
        "yes please",
        "START NOW",
        # Near misses, spaced or punctuated keywords, synonyms Twilio does not list.
        "stopp",
        "S T O P",
        "STOP!",
        "stop.",
        "UN SUBSCRIBE",
        "OPT OUT",
        "OPT-OUT",
        "REMOVE",
        "ARRET",
        "STARTS",
        "YESS",
        "ENDS",
        "",
        "   ",
        "Hi, can I move my appointment?",
    ],
)
def test_anything_but_a_whole_keyword_is_an_ordinary_message(body: str) -> None:
    assert opt_intent(body) is None


@pytest.mark.parametrize(
    ("body", "opt_out_type", "intent"),
    [
        # Advanced Opt-Out: Twilio matched a custom or localized keyword and names its decision
        # (OptOutType STOP, START or HELP), which wins over the body.
        ("Arrêt", "STOP", "opt_out"),
        ("Commencer", "START", "opt_in"),
        ("STOP", "HELP", None),
        ("Hola", " stop ", "opt_out"),
    ],
)
def test_twilios_opt_out_type_wins_over_the_body(
    body: str, opt_out_type: str, intent: str | None
) -> None:
    assert opt_intent(body, opt_out_type=opt_out_type) == intent
