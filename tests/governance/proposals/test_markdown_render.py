"""XIP bodies and comments are markdown rendered inert: no script, handler or js: link."""

import pytest

from governance.proposals.markdown_render import markdown_render


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        '<img src="x" onerror="alert(1)">',
        '<a href="#" onclick="alert(1)">click</a>',
        '<div onmouseover="alert(1)">hover</div>',
        '<svg onload="alert(1)"></svg>',
        "[click](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<iframe src="https://evil.example"></iframe>',
        "<style>body{display:none}</style>",
    ],
)
def test_hostile_markup_renders_inert(text: str) -> None:
    html = markdown_render(text).lower()

    for forbidden in ("<script", "onerror", "onclick", "onmouseover", "onload", "javascript:",
                      "data:text", "<iframe", "<style", "<svg"):  # fmt: skip
        assert forbidden not in html


def test_ordinary_markdown_survives() -> None:
    html = markdown_render("# Title\n\n**bold** and [a link](https://example.org)\n\n- item")

    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org" rel="nofollow noopener noreferrer">a link</a>' in html
    assert "<li>item</li>" in html


def test_the_proposal_page_renders_the_body_inert(client, open_group) -> None:  # type: ignore[no-untyped-def]
    from tests.markets.factories import proposal_make

    proposal = proposal_make(
        group=open_group, body='Hi <script>alert("x")</script> [go](javascript:alert(1))'
    )

    html = client.get(f"/proposals/{proposal.pk}/").content.decode()

    assert 'alert("x")' not in html
    assert "javascript:alert" not in html
