"""XIP pages and API: list filters and search, the draft editor's field errors, the proposal
page, the actions, and query counts of the hot reads."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from governance.proposals.models import Proposal, ProposalStatus, ProposalType
from governance.risk_groups.models import RiskGroup
from tests.markets.factories import member_create, proposal_make, spot_spec
from xip_portal.models import User

S = ProposalStatus
pytestmark = pytest.mark.django_db


def test_the_list_filters_by_status_type_and_group_and_searches(
    client: Client, open_group: RiskGroup, regulated_group: RiskGroup
) -> None:
    proposal_make(group=open_group, status=S.REVIEW, title="List BTC spot")
    proposal_make(group=open_group, status=S.FINAL, title="Lower fees", proposal_type="process")
    proposal_make(group=regulated_group, status=S.REVIEW, title="Regulated ETH")

    def titles(**params: str) -> list[str]:
        response = client.get("/proposals/", params)
        assert response.status_code == 200
        return sorted(p.title for p in response.context["page"])

    assert titles(status="review") == ["List BTC spot", "Regulated ETH"]
    assert titles(type="process") == ["Lower fees"]
    assert titles(group=regulated_group.slug) == ["Regulated ETH"]
    assert titles(q="btc") == ["List BTC spot"]
    assert titles(q="XIP-2") == ["Lower fees"]
    assert titles(status="final", group=regulated_group.slug) == []


def test_the_list_page_queries_do_not_grow_with_the_rows(
    client: Client, open_group: RiskGroup, django_assert_max_num_queries: Any
) -> None:
    for index in range(15):
        proposal_make(group=open_group, status=S.REVIEW, title=f"XIP {index}")

    with django_assert_max_num_queries(6):
        response = client.get("/proposals/")

    assert len(response.context["page"]) == 15


def test_the_draft_editor_shows_errors_beside_the_fields_and_saves_nothing(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    client = login(member_create(open_group))
    data = {
        "title": "List BTC",
        "risk_group": open_group.pk,
        "body": "",
        **{k: v for k, v in spot_spec(tick="500", maker_fee_bps="99").items()},
    }

    response = client.post("/proposals/new/?type=market", data)

    assert response.status_code == 400
    form = response.context["form"]
    assert "Must lie within" in form.errors["tick"][0]
    assert "Must lie within" in form.errors["maker_fee_bps"][0]
    html = response.content.decode()
    assert 'id="id_tick_errors"' in html
    assert not Proposal.objects.exists()


def test_an_author_drafts_and_submits_through_the_pages(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    author = member_create(open_group)
    client = login(author)
    data = {"title": "List BTC", "risk_group": open_group.pk, "body": "# Why", **spot_spec()}

    created = client.post("/proposals/new/?type=market", data)
    proposal = Proposal.objects.get()
    submitted = client.post(f"/proposals/{proposal.pk}/submit/")
    page = client.get(f"/proposals/{proposal.pk}/")

    assert created.status_code == 302
    assert submitted.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.number) == (S.REVIEW, 1)
    assert "XIP-1" in page.content.decode()
    assert "<h1>Why</h1>" in page.content.decode()


def test_a_refused_action_shows_its_reason_on_the_page(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    proposal = proposal_make(group=open_group)
    client = login(member_create(open_group))

    response = client.post(f"/proposals/{proposal.pk}/submit/", follow=True)

    assert "Only the authors" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == S.DRAFT


def test_editor_actions_are_staff_pages(
    login: Callable[[User], Client],
    make_staff: Callable[..., User],
    open_group: RiskGroup,
    editor: User,
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    url = f"/staff/proposals/{proposal.pk}/last-call/"

    refused = login(member_create(open_group)).post(url)
    from xip_portal.models import StaffRole

    no_two_factor = make_staff(StaffRole.XIP_EDITOR, open_group, two_factor=False)
    sent_to_setup = login(no_two_factor).post(url)
    accepted = login(editor).post(url)

    assert refused.status_code == 403
    assert sent_to_setup["Location"] == "/accounts/2fa/totp/activate/"
    assert accepted.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == S.LAST_CALL


def test_the_proposal_page_shows_timeline_spec_votes_discussion_and_revisions(
    client: Client, open_group: RiskGroup, editor: User, django_assert_max_num_queries: Any
) -> None:
    from governance.proposals.services import (
        proposal_comment_add,
        proposal_last_call_start,
        proposal_submit,
        proposal_update,
        proposal_vote,
    )

    proposal = proposal_make(group=open_group, body="First text")
    author = proposal.created_by
    proposal_submit(actor=author, proposal=proposal)
    proposal_update(
        actor=author, proposal=proposal, title=proposal.title, body="Second text", spec=spot_spec()
    )
    proposal_last_call_start(actor=editor, proposal=proposal)
    proposal_vote(actor=member_create(open_group), proposal=proposal, choice="against")
    proposal_comment_add(actor=author, proposal=proposal, body="Happy to **answer**")

    with django_assert_max_num_queries(20):
        response = client.get(f"/proposals/{proposal.pk}/")

    html = response.content.decode()
    assert "Last Call" in html
    assert "0 for, 1 against" in html
    assert "<strong>answer</strong>" in html
    assert "-First text" in html and "+Second text" in html
    assert "BTC-USDC" in html


def test_the_api_drafts_reports_spec_errors_by_field_and_acts(
    api_client: APIClient, open_group: RiskGroup
) -> None:
    author = member_create(open_group)
    api_client.force_authenticate(author)
    body: dict[str, Any] = {
        "title": "List BTC",
        "proposal_type": ProposalType.MARKET,
        "risk_group": open_group.slug,
        "spec": spot_spec(lot=0.001),
    }

    refused = api_client.post("/api/v1/proposals/", body, format="json")
    body["spec"] = spot_spec()
    created = api_client.post("/api/v1/proposals/", body, format="json")
    pk = created.json()["id"]
    submitted = api_client.post(f"/api/v1/proposals/{pk}/actions/submit/", {}, format="json")
    again = api_client.post(f"/api/v1/proposals/{pk}/actions/submit/", {}, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_spec"
    assert list(refused.json()["fields"]) == ["lot"]
    assert created.status_code == 201
    assert submitted.status_code == 200
    assert submitted.json()["xip"] == "XIP-1"
    assert submitted.json()["status"] == "review"
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_the_api_list_is_public_and_its_queries_are_bounded(
    api_client: APIClient, open_group: RiskGroup, django_assert_max_num_queries: Any
) -> None:
    for _ in range(10):
        proposal_make(group=open_group, status=S.REVIEW)

    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/proposals/?status=review")

    assert response.status_code == 200
    assert response.json()["count"] == 10


def test_staff_actions_in_the_api_need_two_factor(
    api_client: APIClient, make_staff: Callable[..., User], open_group: RiskGroup
) -> None:
    from xip_portal.models import StaffRole

    proposal = proposal_make(group=open_group, status=S.REVIEW)
    api_client.force_authenticate(make_staff(StaffRole.XIP_EDITOR, open_group, two_factor=False))

    response = api_client.post(f"/api/v1/proposals/{proposal.pk}/actions/last-call/", {})

    assert response.status_code == 403
    assert response.json()["code"] == "two_factor_required"


def test_the_edit_page_saves_a_revision_with_a_visible_diff(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    from governance.proposals.services import proposal_submit

    proposal = proposal_make(group=open_group, body="Fees: 5 bps")
    proposal_submit(actor=proposal.created_by, proposal=proposal)
    client = login(proposal.created_by)
    form = client.get(f"/proposals/{proposal.pk}/edit/")
    data = {
        **{k: v for k, v in spot_spec(taker_fee_bps=6).items()},
        "title": proposal.title,
        "body": "Fees: 6 bps",
        "summary": "Raise the taker fee",
    }

    saved = client.post(f"/proposals/{proposal.pk}/edit/", data)
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()

    assert form.status_code == 200
    assert 'value="BTC-USDC"' in form.content.decode()
    assert saved.status_code == 302
    proposal.refresh_from_db()
    assert proposal.revision == 2 and proposal.spec["taker_fee_bps"] == 6
    assert "Raise the taker fee" in page
    assert "-Fees: 5 bps" in page and "+Fees: 6 bps" in page
    assert "-  &quot;taker_fee_bps&quot;: 5" in page


def test_others_can_not_open_the_edit_page(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    proposal = proposal_make(group=open_group)

    response = login(member_create(open_group)).get(f"/proposals/{proposal.pk}/edit/")

    assert response.status_code == 404


def test_a_comment_emails_the_authors_and_subscribers_once_committed(
    login: Callable[[User], Client],
    open_group: RiskGroup,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    proposal = proposal_make(group=open_group)
    commenter = member_create(open_group)

    with django_capture_on_commit_callbacks(execute=True):
        login(commenter).post(
            f"/proposals/{proposal.pk}/comment/", {"body": "Why this tick?", "kind": "comment"}
        )

    assert [message.to for message in mailoutbox] == [[proposal.created_by.email]]
    assert "Why this tick?" in mailoutbox[0].body
    assert f"{settings.PORTAL_URL}/proposals/{proposal.pk}/" in mailoutbox[0].body
    assert proposal.subscribers.filter(pk=commenter.pk).exists()
