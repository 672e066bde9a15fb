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
from tests.markets.factories import engine_deposit, member_create, proposal_make, spot_spec
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

    response = client.post("/proposals/new/?type=market&market_type=spot", data)

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
    engine_deposit(group=open_group, user=author, amount=open_group.proposal_bond_amount)
    client = login(author)
    data = {"title": "List BTC", "risk_group": open_group.pk, "body": "# Why", **spot_spec()}

    created = client.post("/proposals/new/?type=market&market_type=spot", data)
    proposal = Proposal.objects.get()
    assert created["Location"] == f"/proposals/draft-{proposal.pk}/"
    submitted = client.post(f"/proposals/draft-{proposal.pk}/submit/")
    page = client.get(submitted["Location"])

    assert submitted["Location"] == "/proposals/XIP-1/"  # the page URL is the XIP number
    proposal.refresh_from_db()
    assert (proposal.status, proposal.number) == (S.REVIEW, 1)
    assert "XIP-1" in page.content.decode()
    assert "<h1>Why</h1>" in page.content.decode()


def test_a_refused_action_shows_its_reason_on_the_page(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    client = login(member_create(open_group))

    response = client.post(f"/proposals/{proposal.key}/withdraw/", follow=True)

    assert "Only the authors" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == S.REVIEW


def test_editor_actions_are_staff_pages(
    login: Callable[[User], Client],
    make_staff: Callable[..., User],
    open_group: RiskGroup,
    editor: User,
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    url = f"/staff/proposals/{proposal.key}/last-call/"

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
    proposal.refresh_from_db()

    with django_assert_max_num_queries(20):
        response = client.get(f"/proposals/{proposal.key}/")

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
    engine_deposit(group=open_group, user=author, amount=open_group.proposal_bond_amount)
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
    proposal.refresh_from_db()
    client = login(proposal.created_by)
    form = client.get(f"/proposals/{proposal.key}/edit/")
    data = {
        **{k: v for k, v in spot_spec(taker_fee_bps=6).items()},
        "title": proposal.title,
        "body": "Fees: 6 bps",
        "summary": "Raise the taker fee",
    }

    saved = client.post(f"/proposals/{proposal.key}/edit/", data)
    page = client.get(f"/proposals/{proposal.key}/").content.decode()

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

    response = login(member_create(open_group)).get(f"/proposals/{proposal.key}/edit/")

    assert response.status_code == 404


def test_a_comment_emails_the_authors_and_subscribers_once_committed(
    login: Callable[[User], Client],
    open_group: RiskGroup,
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[Any],
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    commenter = member_create(open_group)

    with django_capture_on_commit_callbacks(execute=True):
        login(commenter).post(
            f"/proposals/{proposal.key}/comment/", {"body": "Why this tick?", "kind": "comment"}
        )

    assert [message.to for message in mailoutbox] == [[proposal.created_by.email]]
    assert "Why this tick?" in mailoutbox[0].body
    assert f"{settings.PORTAL_URL}/proposals/XIP-{proposal.number}/" in mailoutbox[0].body
    assert proposal.subscribers.filter(pk=commenter.pk).exists()


def test_old_id_urls_and_draft_urls_lead_to_the_xip_number(
    login: Callable[[User], Client], client: Client, open_group: RiskGroup
) -> None:
    proposal = proposal_make(group=open_group, status=S.REVIEW)
    assert proposal.number is not None
    canonical = f"/proposals/XIP-{proposal.number}/"

    by_id = client.get(f"/proposals/{proposal.pk}/")
    by_draft_key = client.get(f"/proposals/draft-{proposal.pk}/")
    old_form = login(member_create(open_group)).post(f"/proposals/{proposal.pk}/subscribe/")

    assert (by_id.status_code, by_id["Location"]) == (301, canonical)
    assert (by_draft_key.status_code, by_draft_key["Location"]) == (301, canonical)
    assert (old_form.status_code, old_form["Location"]) == (308, f"{canonical}subscribe/")
    assert client.get(canonical).status_code == 200


def test_a_draft_is_seen_only_by_its_authors_and_the_groups_editors(
    login: Callable[[User], Client],
    make_staff: Callable[..., User],
    open_group: RiskGroup,
    regulated_group: RiskGroup,
    editor: User,
) -> None:
    from xip_portal.models import StaffRole

    draft = proposal_make(group=open_group, title="Secret plan")
    public = proposal_make(group=open_group, status=S.REVIEW, title="Open plan")
    other_editor = make_staff(StaffRole.XIP_EDITOR, regulated_group)
    url = f"/proposals/draft-{draft.pk}/"

    def sees_draft(client: Client) -> bool:
        page = client.get(url)
        listed = "Secret plan" in client.get("/proposals/").content.decode()
        api = client.get(f"/api/v1/proposals/{draft.pk}/")
        api_listed = any(
            row["title"] == "Secret plan"
            for row in client.get("/api/v1/proposals/").json()["results"]
        )
        assert len({page.status_code == 200, listed, api.status_code == 200, api_listed}) == 1
        return page.status_code == 200

    assert sees_draft(login(draft.created_by))
    assert sees_draft(login(editor))
    assert not sees_draft(login(other_editor))
    assert not sees_draft(login(member_create(open_group)))
    client = Client()
    assert not sees_draft(client)
    assert client.get(f"/proposals/XIP-{public.number}/").status_code == 200


def test_the_editor_asks_only_for_the_fields_of_the_chosen_market_type(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    client = login(member_create(open_group))

    chooser = client.get("/proposals/new/?type=market").content.decode()
    spot = client.get("/proposals/new/?type=market&market_type=spot")
    perp = client.get("/proposals/new/?type=market&market_type=perp")
    prediction = client.get("/proposals/new/?type=market&market_type=prediction")

    assert "?type=market&amp;market_type=perp" in chooser
    assert set(spot.context["form"].fields) >= {"symbol", "base_asset", "tick", "oracle_kind"}
    assert not set(spot.context["form"].fields) & {"margin_tiers", "close_time", "outcomes"}
    assert {"margin_tiers", "funding_cap_bps"} <= set(perp.context["form"].fields)
    assert "close_time" not in perp.context["form"].fields
    assert {"outcomes", "close_time", "dispute_window_hours"} <= set(
        prediction.context["form"].fields
    )
    assert "base_asset" not in prediction.context["form"].fields
    # Required fields carry the mark; optional ones do not
    html = spot.content.decode()
    assert 'for="id_base_asset">Base asset <span aria-hidden="true">*</span>' in html
    assert 'for="id_oracle_kind">Oracle kind</label>' in html
    assert 'for="id_oracle_kind">Oracle kind <span' in perp.content.decode()


@pytest.mark.parametrize("market_type", ["spot", "perp", "prediction"])
def test_the_editors_field_table_matches_what_the_spec_check_asks_for(
    open_group: RiskGroup, market_type: str
) -> None:
    from markets.specs import MARKET_TYPE_FIELDS, market_spec_clean
    from xip_portal.specs import SpecError

    fields = MARKET_TYPE_FIELDS[market_type]
    every_field = set().union(*(table.keys() for table in MARKET_TYPE_FIELDS.values()))
    foreign = every_field - fields.keys()
    raw = {"market_type": market_type, **{name: "1" for name in foreign}}

    with pytest.raises(SpecError) as refused:
        market_spec_clean(raw, risk_group=open_group)

    required = {name for name, needed in fields.items() if needed} - {"market_type"}
    assert required <= refused.value.fields.keys()  # every required field is asked for
    assert foreign <= refused.value.fields.keys()  # every field of other types is refused
    optional = {name for name, needed in fields.items() if not needed}
    assert not optional & refused.value.fields.keys()  # optional ones may stay empty


def test_the_editor_previews_the_body_as_the_page_renders_it_without_saving(
    login: Callable[[User], Client], open_group: RiskGroup
) -> None:
    client = login(member_create(open_group))
    data = {"title": "", "body": "**Bold** <script>alert(1)</script>", "preview": "1"}

    response = client.post("/proposals/new/?type=process", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "This field is required" not in html  # a preview is not a save attempt
    assert not Proposal.objects.exists()
