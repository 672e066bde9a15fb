"""Who may reach what: every URL of the project, for every kind of visitor, against a table
of the outcome each one must get.

The routes are found by walking the URL resolver (tests/url_routes.py, shared with the
hostile-value sweep); a route in neither MATRIX nor PUBLIC fails the test, so a new page or
operation cannot ship without someone deciding who may use it. The private objects in the
paths belong to Alice, a plain member: no one else but staff with two-factor authentication
is served them, her identifiers never appear in what anyone else is sent, and a refused
request writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from engine import tasks
from engine.chain.models import Deployment, SettlementBatch, Withdrawal
from engine.services import command_submit, shard_of
from governance.kyc.models import KycApplication
from governance.risk_groups.models import RiskGroup
from tests.factories import UserFactory
from tests.governance.conftest import with_documents
from tests.governance.factories import KycApplicationFactory
from tests.markets.factories import member_create
from tests.trading.fixtures import Credentials
from tests.url_routes import World, db_writes, route_paths, url_routes
from trading.errors import TradingError
from trading.okx.codes import okx_code
from xip_portal.errors import ErrorCode
from xip_portal.models import StaffRole, User

pytestmark = pytest.mark.django_db

# The visitors. Alice owns the private objects the paths name.
ANONYMOUS = "anonymous"
OWNER = "owner"  # Alice, a member of the open group
MEMBER = "member"  # Bob, a member of the same group, not the owner
OUTSIDER = "outsider"  # signed in, a member of nothing
KYC_ADMIN_ELSEWHERE = "kyc_admin_elsewhere"  # KYC admin of the open group, not Alice's
STAFF_NO_MFA = "staff_no_mfa"  # a site admin who has not set up two-factor authentication
STAFF = "staff"  # a site admin with two-factor authentication
ROLES = (ANONYMOUS, OWNER, MEMBER, OUTSIDER, KYC_ADMIN_ELSEWHERE, STAFF_NO_MFA, STAFF)

SERVED, REFUSED = "served", "refused"


def _only(*allowed: str) -> dict[str, str]:
    return {role: SERVED if role in allowed else REFUSED for role in ROLES}


SIGNED_IN = _only(OWNER, MEMBER, OUTSIDER, KYC_ADMIN_ELSEWHERE, STAFF_NO_MFA, STAFF)
OWN = _only(OWNER)  # an object of Alice's, by its applicant-side address
OWN_OR_STAFF = _only(OWNER, STAFF)
STAFF_ONLY = _only(STAFF)
# a staff role (with 2FA) of any group: each sees only its own group's work (Alice's
# application is in another group: the identifiers check below proves it stays hidden)
STAFF_ROLE = _only(KYC_ADMIN_ELSEWHERE, STAFF)

# Pages and reads anyone may have, signed in or not (no private data on them):
PUBLIC = {
    "home",
    "healthz",  # load balancer probe
    "api_schema",  # the OpenAPI description and its viewer
    "api_docs",
    "proposal_list",  # proposals are public once out of draft (drafts: their author only)
    "proposal_detail",
    "api_proposals",
    "api_proposal",
    "api_proposal_comments",
    "riskgroup_list",  # risk groups, their rules and collateral
    "riskgroup_detail",
    "api_riskgroups",
    "api_riskgroup",
    "market_list",  # markets and their boards
    "market_detail",
    "world_cup",
    "outcome_board",
    "api_markets",
    "api_market",
    "api_assets",
    "proposals/<int:pk>/",  # old addresses of proposals, redirected to their XIP key
    "proposals/<int:pk>/<path:rest>",
    # oracle price pushes: no login, the EIP-191 signature of one of the market's oracle
    # signers authenticates the price (markets.api.OraclePriceApi, tested with the oracles)
    "api_market_oracle_prices",
    "settlement",  # a group's settlement batches, public on the chain anyway
    # a group's insurance fund and a perpetual's funding, from the engine's events (no
    # accounts named: tests/markets/test_perp_schedule.py)
    "insurance_fund",
    "api_insurance_fund",
    "api_insurance_fund_entries",
    "api_funding",
    "api_market_resolution",  # a prediction market's resolution state and timeline
    "api_book",  # /api/v1/ market data
    "api_trades",
    "api_candles",
    "api_tickers",
    "api_ticker",
    "institution_list",
    "institution_detail",
    "api_institutions",
    # /api/v5/ market data, as OKX serves it without a key
    "api/v5/public/instruments",
    "api/v5/public/mark-price",
    "api/v5/public/funding-rate",
    "api/v5/public/funding-rate-history",
    "api/v5/market/books",
    "api/v5/market/ticker",
    "api/v5/market/tickers",
    "api/v5/market/trades",
    "api/v5/market/candles",
}

# Route -> the outcome each visitor gets. Writes (POST) are refused to every visitor a route
# refuses, and the refusal writes nothing.
MATRIX: dict[str, dict[str, str]] = {
    # the signed-in user's own things: everyone signed in has a page, showing only their own
    "api_token": SIGNED_IN,
    "accounts/2fa/totp/activate/": SIGNED_IN,
    "api_token_action": SIGNED_IN,
    "institution_new": SIGNED_IN,
    "proposal_new": SIGNED_IN,
    "kyc_my_applications": SIGNED_IN,
    "portfolio": SIGNED_IN,
    "portfolio_fills_csv": SIGNED_IN,
    "portfolio_transfer": SIGNED_IN,
    "portfolio_faucet": SIGNED_IN,
    "revenue": SIGNED_IN,
    "api_keys": SIGNED_IN,
    "api_me": SIGNED_IN,
    "api_memberships": SIGNED_IN,
    "api_kyc_applications": SIGNED_IN,
    "api_api_keys": SIGNED_IN,
    "api_revenue": SIGNED_IN,
    "riskgroup_join": SIGNED_IN,
    "kyc_apply": SIGNED_IN,
    "api_riskgroup_join": SIGNED_IN,
    "board_buy": SIGNED_IN,
    # the trading API and pages of one's own account and orders
    "funds": SIGNED_IN,
    "verify_balance": SIGNED_IN,
    "api_account_proof": SIGNED_IN,
    "api_withdrawals": SIGNED_IN,
    "api_orders": SIGNED_IN,
    "api_orders_batch": SIGNED_IN,
    "api_orders_cancel_all": SIGNED_IN,
    "api_orders_open": SIGNED_IN,
    "api_orders_history": SIGNED_IN,
    "api_fills": SIGNED_IN,
    "api_balances": SIGNED_IN,
    "api_positions": SIGNED_IN,
    "api_holdings": SIGNED_IN,
    "api_statement": SIGNED_IN,
    "api_transfers": SIGNED_IN,
    "api_faucet": SIGNED_IN,
    "market_order_place": SIGNED_IN,
    "market_order_preview": SIGNED_IN,
    "market_order_cancel": SIGNED_IN,
    "market_order_amend": SIGNED_IN,
    "withdrawal_claim": SIGNED_IN,
    # order 1 is no one's here: refused to all (another user's live order: tests/trading)
    "api_order": _only(),
    "market_resolution_action": SIGNED_IN,
    # the resolution API: the services check resolver, membership and staff role (2FA)
    # (tests/trading/test_api_resolutions.py)
    "api_market_resolution_propose": SIGNED_IN,
    "api_market_resolution_dispute": SIGNED_IN,
    "api_market_resolution_decide": SIGNED_IN,
    "api_market_resolution_approve": SIGNED_IN,
    "proposal_action": SIGNED_IN,
    "api_proposal_action": SIGNED_IN,
    "api_proposal_objection_uphold": SIGNED_IN,
    "api_institution_members": SIGNED_IN,
    # Alice's KYC application, its documents, and her API keys
    "kyc_application": OWN,
    "kyc_document_upload": OWN,
    "kyc_document_delete": OWN,
    "kyc_submit": OWN,
    "kyc_document_download": OWN,
    "api_kyc_application": OWN,
    "api_kyc_documents": OWN,
    "api_kyc_document": OWN,
    "api_kyc_document_delete": OWN,
    "api_kyc_submit": OWN,
    "api_key_revoke": OWN,
    "api_api_key": OWN,
    # Alice's withdrawal: its state, its claim's proof, the portal's claim (POST)
    "api_withdrawal": OWN,
    "api_withdrawal_proof": OWN,
    "api_withdrawal_claim": OWN,
    # staff pages: a staff role and two-factor authentication
    "staff_dashboard": STAFF_ROLE,
    "proposal_edit": STAFF_ONLY,
    "proposal_staff_action": STAFF_ONLY,
    "riskgroup_new": STAFF_ONLY,
    "riskgroup_edit": STAFF_ONLY,
    "riskgroup_collateral": STAFF_ONLY,
    "api_riskgroup_collateral": STAFF_ONLY,
    "kyc_queue": STAFF_ROLE,
    "kyc_review": STAFF_ONLY,
    "kyc_review_document": STAFF_ONLY,
    "api_kyc_queue": STAFF_ROLE,
    "api_kyc_case": STAFF_ONLY,
    "api_kyc_decision": STAFF_ONLY,
    "api_kyc_review_document": STAFF_ONLY,
    "market_staff_action": STAFF_ONLY,
    "market_oracle_price": STAFF_ONLY,
    # memberships of the open group: its KYC admin administers them (Alice is a member there)
    "riskgroup_members": STAFF_ROLE,
    "api_riskgroup_members": STAFF_ROLE,
    "membership_revoke": STAFF_ROLE,
    "api_membership_revoke": STAFF_ROLE,
    "api_market_status": STAFF_ONLY,
    # the live stream: public topics for anyone; private topics (orders, fills) only to their
    # user, checked over a real ASGI server in tests/trading/test_live_stream.py
    # (test_a_private_topic_reaches_only_its_user, test_a_stream_that_cannot_be_served_...)
    "live_stream": {role: SERVED for role in ROLES},
}

# who, besides Alice and staff, may see her as a member of her group
SEES_GROUP_MEMBERS = {KYC_ADMIN_ELSEWHERE: {"riskgroup_members", "api_riskgroup_members"}}

# /api/v5/ (signed with an API key): what each key gets; unsigned requests are refused.
V5_READ = "read"  # reads of the key's own account: a read-scoped key
V5_TRADE = "trade"  # order entry: a trade-scoped key only
V5: dict[str, str] = {
    "api/v5/account/balance": V5_READ,
    "api/v5/account/positions": V5_READ,
    "api/v5/asset/currencies": V5_READ,
    "api/v5/trade/orders-pending": V5_READ,
    "api/v5/trade/orders-history": V5_READ,
    "api/v5/trade/fills": V5_READ,
    "api/v5/trade/fills-history": V5_READ,
    "api/v5/trade/order": V5_TRADE,
    "api/v5/trade/batch-orders": V5_TRADE,
    "api/v5/trade/cancel-order": V5_TRADE,
    "api/v5/trade/cancel-batch-orders": V5_TRADE,
    "api/v5/trade/amend-order": V5_TRADE,
}


def test_every_route_has_a_decided_audience() -> None:
    keys = [key for _, key in url_routes(unnamed=True)]
    undecided = set(keys) - PUBLIC - MATRIX.keys() - V5.keys()

    assert not undecided, f"routes in neither MATRIX, V5 nor PUBLIC: {sorted(undecided)}"
    assert not (PUBLIC & MATRIX.keys()) and not (PUBLIC & V5.keys())
    assert (PUBLIC | MATRIX.keys() | V5.keys()) <= set(keys), "entries for routes that are gone"


@dataclass
class Alice:
    user: User
    application: KycApplication
    credentials: Credentials
    withdrawal: Withdrawal

    def kwargs(self) -> dict[str, list[dict[str, Any]]]:
        """Paths naming her private objects."""
        app = {"pk": self.application.pk}
        document = self.application.documents.first()
        assert document is not None
        doc = {"pk": document.pk}
        with_doc = {"pk": self.application.pk, "document_pk": document.pk}
        key = {"key": self.credentials.key}
        withdrawal = {"withdrawal_id": self.withdrawal.withdrawal_id}
        return {
            "kyc_application": [app],
            "kyc_document_upload": [app],
            "kyc_submit": [app],
            "kyc_document_delete": [with_doc],
            "kyc_document_download": [doc],
            "api_kyc_application": [app],
            "api_kyc_documents": [app],
            "api_kyc_submit": [app],
            "api_kyc_document_delete": [with_doc],
            "api_kyc_document": [doc],
            "kyc_review": [app],
            "kyc_review_document": [doc],
            "api_kyc_case": [app],
            "api_kyc_decision": [app],
            "api_kyc_review_document": [doc],
            "api_key_revoke": [key],
            "api_api_key": [key],
            "api_withdrawal": [withdrawal],
            "api_withdrawal_proof": [withdrawal],
            "api_withdrawal_claim": [withdrawal],
        }

    def identifiers(self) -> list[str]:
        """What of hers must never reach anyone else."""
        names = [
            document.file.name.rsplit("/", 1)[-1] for document in self.application.documents.all()
        ]
        return [
            self.credentials.key,
            self.application.legal_name,
            self.user.email,
            self.withdrawal.withdrawal_id,
            *names,
        ]


@pytest.fixture
def alice(
    world: World, regulated_group: RiskGroup, make_api_key: Callable[..., Credentials]
) -> Alice:
    user = member_create(world.open_group)
    application = with_documents(KycApplicationFactory(risk_group=regulated_group, applicant=user))
    # a withdrawal of hers that a committed batch holds (its proof is served)
    address = "0x" + "b2" * 20
    deployment = Deployment.objects.create(
        chain_id=1,
        genesis_hash="0x" + "00" * 32,
        **dict.fromkeys(
            ("operator", "token", "registry", "ledger", "vault", "price_feed"), address
        ),
        block_number=1,
    )
    withdrawal_id = "0x" + "a1" * 32
    batch = SettlementBatch.objects.create(
        deployment=deployment,
        risk_group=world.open_group,
        number=1,
        first_seq=1,
        last_seq=1,
        fill_count=0,
        fills_hash="0x" + "00" * 32,
        balance_root="0x" + "00" * 32,
        withdrawals_root="0x" + "00" * 32,
        previous_root="0x" + "00" * 32,
        leaves=[],
        withdrawals=[[withdrawal_id, address, "1"]],
        committed=True,
    )
    withdrawal = Withdrawal.objects.create(
        withdrawal_id=withdrawal_id,
        risk_group=world.open_group,
        account=user.pk,
        recipient=address,
        amount=10**12,
        token_amount=1,
        command_id=0,
        status=Withdrawal.Status.COMMITTED,
        batch=batch,
    )
    return Alice(user, application, make_api_key(user, scopes=("read",)), withdrawal)


@pytest.fixture
def visitors(world: World, alice: Alice, make_staff: Callable[..., User]) -> dict[str, User | None]:
    return {
        ANONYMOUS: None,
        OWNER: alice.user,
        MEMBER: member_create(world.open_group),
        OUTSIDER: UserFactory(),
        KYC_ADMIN_ELSEWHERE: make_staff(StaffRole.KYC_ADMIN, world.open_group),
        STAFF_NO_MFA: make_staff(StaffRole.SITE_ADMIN, two_factor=False),
        STAFF: make_staff(StaffRole.SITE_ADMIN),
    }


def _refused(response: Any) -> bool:
    """A refusal: not found, forbidden, unauthenticated, or sent to sign in / set up 2FA."""
    if response.status_code in (401, 403, 404, 405):
        return True
    return response.status_code in (301, 302) and response["Location"].startswith("/accounts/")


def _body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return ""
    return response.content.decode(errors="replace")


def _paths(world: World, alice: Alice, key: str, route: str) -> list[str]:
    owned = alice.kwargs().get(key)
    if owned is not None:
        return [reverse(key, kwargs=kwargs) for kwargs in owned]
    if key == "live_stream":
        return []  # an endless response; served under ASGI (see MATRIX)
    posted_to = {
        "board_buy": {"symbol": world.market.symbol},
        "market_staff_action": {"symbol": world.market.symbol},
        "market_oracle_price": {"symbol": world.market.symbol},
        "market_resolution_action": {"symbol": world.market.symbol, "step": "propose"},
        "membership_revoke": world.kwargs["api_membership_revoke"][0],
        "market_order_cancel": {"symbol": world.market.symbol, "order_id": 1},
        "market_order_amend": {"symbol": world.market.symbol, "order_id": 1},
        "withdrawal_claim": {"withdrawal_id": "1"},
        "proposal_action": {"key": world.kwargs["proposal_detail"][1]["key"], "action": "vote"},
        "proposal_staff_action": {
            "key": world.kwargs["proposal_detail"][1]["key"],
            "action": "reject",
        },
    }
    if key in posted_to:
        return [reverse(key, kwargs=posted_to[key])]
    if key == route:  # a route without a name
        return [] if "<" in route else ["/" + route]
    return route_paths(world, key, route) if "<" not in route or key in world.kwargs else []


def test_each_visitor_gets_the_outcome_the_matrix_gives(
    world: World, alice: Alice, visitors: dict[str, User | None], settings: Any
) -> None:
    unmet = []
    unreached = set()
    for route, key in url_routes(unnamed=True):
        if key not in MATRIX:
            continue
        paths = _paths(world, alice, key, route)
        if not paths:
            unreached.add(key)
        for role, user in visitors.items():
            client = Client()
            if user is not None:
                client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
            expected = MATRIX[key][role]
            for path in paths:
                response = client.get(path)
                # (a route taking only POST answers GET with 405, whoever asks)
                got = expected if response.status_code == 405 else SERVED
                got = REFUSED if _refused(response) and got != expected else got
                if response.status_code >= 400 and response.status_code not in (401, 403, 404, 405):
                    got = f"status {response.status_code}"
                if got != expected:
                    unmet.append(
                        f"GET {path} as {role}: {got} ({response.status_code}), want {expected}"
                    )
                if role not in (OWNER, STAFF) and key not in SEES_GROUP_MEMBERS.get(role, ()):
                    leaked = [i for i in alice.identifiers() if i and i in _body(response)]
                    if leaked:
                        unmet.append(f"GET {path} as {role} shows Alice's {leaked}")
                if expected == REFUSED:
                    before = db_writes()
                    response = client.post(path, {})
                    if not _refused(response) or db_writes() != before:
                        unmet.append(f"POST {path} as {role}: {response.status_code}, not refused")
    assert not unmet, "\n".join(unmet)
    assert unreached == {"live_stream"}
    # (the db_writes count leaves out the trading tables: her key is checked by hand)
    alice.credentials.api_key.refresh_from_db()
    assert alice.credentials.api_key.revoked_at is None


def _okx_code(error: str) -> str:
    return okx_code(error).code


def test_api_v5_serves_a_key_only_what_its_scopes_allow(
    world: World, alice: Alice, make_api_key: Callable[..., Credentials], okx: Callable[..., Any]
) -> None:
    trading_key = make_api_key(alice.user, scopes=("read", "trade"))
    unmet = []
    for route, key in url_routes(unnamed=True):
        if not route.startswith("api/v5/"):
            continue
        path = "/" + route
        method = "POST" if V5.get(key) == V5_TRADE else "GET"
        body = [] if method == "POST" else None
        unsigned = okx(None, method, path, body)
        if key in PUBLIC:  # (400 asks for the instrument: served, not refused)
            if unsigned.status_code not in (200, 400):
                unmet.append(f"{method} {path} unsigned: {unsigned.status_code}, want served")
            continue
        if unsigned.status_code != 401 or unsigned.json()["code"] != _okx_code(
            TradingError.MISSING_CREDENTIALS
        ):
            unmet.append(f"{method} {path} unsigned: {unsigned.status_code} {unsigned.content!r}")
        read_only = okx(alice.credentials, method, path, body)
        scope_refused = read_only.json()["code"] == _okx_code(TradingError.SCOPE_MISSING)
        if V5[key] == V5_TRADE and not scope_refused:
            unmet.append(f"{method} {path} with a read-only key: {read_only.content!r}")
        if V5[key] == V5_READ and read_only.status_code != 200:
            unmet.append(f"{method} {path} with a read key: {read_only.status_code}")
        full = okx(trading_key, method, path, body)
        if full.json()["code"] in (
            _okx_code(TradingError.SCOPE_MISSING),
            _okx_code(ErrorCode.PERMISSION_DENIED),
        ):
            unmet.append(f"{method} {path} with a trade key: {full.content!r}")
    assert not unmet, "\n".join(unmet)


def test_api_v5_never_serves_one_users_orders_fills_or_balances_to_another(
    open_group: RiskGroup,
    spot_market: Any,
    make_api_key: Callable[..., Credentials],
    okx: Callable[..., Any],
) -> None:
    # Alice's resting sell is half filled by Carol; Bob, signing with his own key, is told
    # of none of it, and her order's id is "no such order" to him
    alice, bob, carol = (member_create(open_group) for _ in range(3))
    deposits = {alice: ("BTC", 10**6), bob: ("USDC", 5 * 10**12), carol: ("USDC", 10**12)}
    for user, (asset, amount) in deposits.items():
        command = {"type": "Deposit", "asset": asset, "amount": amount, "external_id": user.email}
        command_submit(risk_group=open_group, account=user.pk, command=command)
    shard_id = shard_of(risk_group=open_group).pk
    tasks.shard_process(shard_id)
    keys = {user: make_api_key(user) for user in (alice, bob, carol)}
    sell = {"instId": "BTC-USDC", "tdMode": "cash", "side": "sell", "ordType": "limit"}
    placed = okx(keys[alice], "POST", "/api/v5/trade/order", sell | {"sz": "0.002", "px": "100"})
    ord_id = placed.json()["data"][0]["ordId"]
    tasks.shard_process(shard_id)
    buy = sell | {"side": "buy", "sz": "0.001", "px": "100"}
    assert okx(keys[carol], "POST", "/api/v5/trade/order", buy).json()["code"] == "0"
    tasks.shard_process(shard_id)

    reads = (
        "/api/v5/trade/orders-pending",
        "/api/v5/trade/orders-history",
        "/api/v5/trade/fills",
        "/api/v5/trade/fills-history",
        "/api/v5/account/positions",
    )
    for path in reads:
        assert okx(keys[bob], "GET", path).json() == {"code": "0", "msg": "", "data": []}, path
    assert ord_id in okx(keys[alice], "GET", "/api/v5/trade/orders-pending").content.decode()
    assert ord_id in okx(keys[alice], "GET", "/api/v5/trade/fills").content.decode()
    (bobs,) = okx(keys[bob], "GET", "/api/v5/account/balance").json()["data"]
    assert [(d["ccy"], Decimal(d["cashBal"])) for d in bobs["details"]] == [("USDC", 5)]
    no_such_order = "51603"  # OKX's "order does not exist"
    one = f"/api/v5/trade/order?instId=BTC-USDC&ordId={ord_id}"
    assert okx(keys[bob], "GET", one).json()["code"] == no_such_order
    target = {"instId": "BTC-USDC", "ordId": ord_id}
    for path, body in (
        ("/api/v5/trade/cancel-order", target),
        ("/api/v5/trade/cancel-batch-orders", [target]),
        ("/api/v5/trade/amend-order", target | {"newSz": "0.001"}),
    ):
        (item,) = okx(keys[bob], "POST", path, body).json()["data"]
        assert item["sCode"] == no_such_order, path
    tasks.shard_process(shard_id)
    (still,) = okx(keys[alice], "GET", one).json()["data"]
    assert (still["state"], still["sz"], still["accFillSz"]) == (
        "partially_filled",
        "0.002",
        "0.001",
    )
