"""The dry-run of a proposed perpetual: a permissive and a strict spec under the same gap
give different outcomes, each explained; the result is cached per spec and shown on the
XIP's page (to its editors without asking, while in Review)."""

import pytest
from django.core.cache import cache

from governance.proposals.dry_run import proposal_dry_run
from governance.proposals.models import ProposalStatus
from markets.config_hash import config_hash
from tests.markets.factories import perp_spec, proposal_make
from xip_portal.errors import ApplicationError
from xip_portal.models import StaffRole

pytestmark = pytest.mark.django_db

PERMISSIVE = perp_spec(
    margin_tiers=[{"max_notional": "10000000", "im_bps": 300, "mm_bps": 150}],
    liquidation_fee_bps=50,
)
STRICT = perp_spec(
    margin_tiers=[{"max_notional": "10000000", "im_bps": 2000, "mm_bps": 1000}],
    liquidation_fee_bps=50,
)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def test_a_permissive_and_a_strict_spec_give_different_explained_outcomes(assets):
    permissive = proposal_dry_run(spec=PERMISSIVE, gap_bps=1000)
    strict = proposal_dry_run(spec=STRICT, gap_bps=1000)

    # 20% initial margin refuses every long from 5x (the taker fee tips 5x over); 3% takes
    # (33x) them all
    assert [line.split(":")[0] for line in strict.refused] == [
        "the 5x long",
        "the 10x long",
        "the 15x long",
        "the 20x long",
        "the 25x long",
    ]
    assert all(line.endswith("insufficient_margin") for line in strict.refused)
    assert permissive.refused == []
    # a 10% gap wipes out the 10x and higher longs the permissive spec let in
    liquidated = [line.split(":")[0] for line in permissive.liquidated]
    assert {"the 10x long", "the 15x long", "the 20x long", "the 25x long"} <= set(liquidated)
    assert all("below maintenance" in line for line in permissive.liquidated)
    assert [line.split(":")[0] for line in strict.liquidated] == []
    assert permissive.bad_debt + permissive.insurance_used > strict.bad_debt
    assert "5 of 6 longs refused" in strict.summary
    assert permissive.summary != strict.summary


def test_the_result_is_cached_per_spec_and_gap_and_bad_input_refused(assets):
    first = proposal_dry_run(spec=STRICT, gap_bps=2000)
    cached = cache.get(f"xip-dry-run:{config_hash(STRICT)}:2000")
    assert cached is not None and cached.summary == first.summary
    assert proposal_dry_run(spec=STRICT, gap_bps=2000).summary == first.summary
    assert cache.get(f"xip-dry-run:{config_hash(PERMISSIVE)}:2000") is None
    with pytest.raises(ApplicationError):
        proposal_dry_run(spec=STRICT, gap_bps=1234)
    with pytest.raises(ApplicationError):
        proposal_dry_run(spec=perp_spec(market_type="spot"), gap_bps=1000)


def test_editors_see_the_dry_run_on_a_proposal_in_review(open_group, make_staff, login, client):
    proposal = proposal_make(group=open_group, status=ProposalStatus.REVIEW, spec=STRICT)
    editor = make_staff(StaffRole.XIP_EDITOR, open_group)
    html = login(editor).get(proposal.get_absolute_url()).content.decode()
    assert 'id="dry-run-summary"' in html and "A 20% gap down" in html
    client.logout()
    visitor = client.get(proposal.get_absolute_url() + "?gap=500").content.decode()
    assert "A 5% gap down" in visitor
