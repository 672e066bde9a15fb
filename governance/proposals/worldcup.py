"""The 2026 World Cup, simulated from a seed (`manage.py worldcup_simulate --seed N`).

48 teams drawn into 12 groups of four play their group matches; the two best of each group
and the eight best thirds play the knockouts to the final (and the match for third place).
Every match is a single-match binary market (YES: the first-named team wins; in a
knockout, goes through) listed the way anyone's market is: an XIP of the house institution
drafted, submitted, moved to Last Call by an editor, approved by the operator and gone
Final; launched by the operator; closing at kick-off; resolved by the house from the
simulated result through markets.resolutions (the proposal, an undisputed window of
zero hours, settled by the scheduled settlement). Two simulated traders take opposite
sides of every match at the model's probability, so positions pay out.

Everything random comes from one `random.Random(seed)`: the same seed gives the same
draw, the same results, the same markets and the same payouts. The simulation keeps its own
clock (`WorldCupClock`): kick-offs `step` apart from its start, and the engine's clock is
moved to each kick-off by an AdvanceTime, so a tournament of 104 matches plays out in
seconds. Probabilities are floats of the model only; every price and amount is a Decimal.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from engine.services import BatchItem, command_submit, commands_submit, shard_of
from engine.tasks import shard_process
from governance.risk_groups.models import RiskGroup
from markets.models import Market
from markets.resolutions import resolution_propose, resolutions_settle_due
from markets.services import market_engine_config, market_status_change, markets_timers_run
from xip_portal.models import Institution, User

from .demo import HOUSE, WORLD_CUP_TEAMS, _final, world_cup_binary_spec
from .models import ProposalType
from .services import proposal_create

SYMBOL_PREFIX = "WC26-"
GROUP_NAMES = "ABCDEFGHIJKL"
KNOCKOUT_STAGES = ("Round of 32", "Round of 16", "Quarter-final", "Semi-final")
STAKE_SHARES = 10
# from kick-off to the result, on the simulation's clock
FULL_TIME = timedelta(seconds=1)
EVIDENCE = "https://worldcup.exchange-os.test/simulated/{seed}/match/{number}"


@dataclass
class Team:
    name: str
    strength: float
    points: int = 0
    scored: int = 0
    conceded: int = 0

    def standing(self) -> tuple[int, int, int, str]:
        return (-self.points, -(self.scored - self.conceded), -self.scored, self.name)


@dataclass
class Match:
    number: int
    stage: str
    home: Team
    away: Team
    home_goals: int = 0
    away_goals: int = 0
    home_through: bool = False
    symbol: str = ""

    @property
    def knockout(self) -> bool:
        return not self.stage.startswith("Group")

    @property
    def yes(self) -> bool:
        """The market's question: did the first-named team win (go through)?"""
        return self.home_through if self.knockout else self.home_goals > self.away_goals

    @property
    def winner(self) -> Team:
        return self.home if self.home_through else self.away

    @property
    def loser(self) -> Team:
        return self.away if self.home_through else self.home


@dataclass
class Tournament:
    seed: int
    groups: dict[str, list[Team]]
    matches: list[Match] = field(default_factory=list)
    champion: Team | None = None


class WorldCupModel:
    """The tournament's randomness: one generator, used in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)  # noqa: S311 - a simulation, not a secret

    def draw(self, seed: int) -> Tournament:
        teams = [Team(name, self.random.uniform(0.5, 2.0)) for name in WORLD_CUP_TEAMS]
        self.random.shuffle(teams)
        groups = {name: teams[index * 4 : index * 4 + 4] for index, name in enumerate(GROUP_NAMES)}
        return Tournament(seed=seed, groups=groups)

    def home_win_probability(self, home: Team, away: Team, *, knockout: bool) -> float:
        share = home.strength / (home.strength + away.strength)
        return share if knockout else share * 0.75  # a group match may be drawn

    def play(self, match: Match) -> None:
        total = match.home.strength + match.away.strength
        match.home_goals = self._goals(2.6 * match.home.strength / total)
        match.away_goals = self._goals(2.6 * match.away.strength / total)
        if match.knockout:
            if match.home_goals == match.away_goals:  # extra time and penalties
                share = match.home.strength / total
                match.home_through = self.random.random() < share
            else:
                match.home_through = match.home_goals > match.away_goals
        else:
            match.home_through = match.home_goals > match.away_goals
            for team, scored, conceded in (
                (match.home, match.home_goals, match.away_goals),
                (match.away, match.away_goals, match.home_goals),
            ):
                team.scored += scored
                team.conceded += conceded
                team.points += 3 if scored > conceded else 1 if scored == conceded else 0

    def _goals(self, mean: float) -> int:
        """A Poisson draw (Knuth's method)."""
        limit, goals, product = math.exp(-mean), 0, self.random.random()
        while product > limit:
            goals += 1
            product *= self.random.random()
        return goals


def _fixtures(tournament: Tournament) -> list[tuple[str, Team, Team]]:
    """The group stage: three rounds, every pair of a group once."""
    rounds = ((0, 1, 2, 3), (0, 2, 1, 3), (0, 3, 1, 2))
    fixtures = []
    for pairs in rounds:
        for name, teams in tournament.groups.items():
            a, b, c, d = pairs
            fixtures.append((f"Group {name}", teams[a], teams[b]))
            fixtures.append((f"Group {name}", teams[c], teams[d]))
    return fixtures


def _qualified(tournament: Tournament) -> list[Team]:
    """Winners, runners-up and the eight best thirds, seeded best first."""
    tables = [sorted(teams, key=Team.standing) for teams in tournament.groups.values()]
    firsts = sorted((table[0] for table in tables), key=Team.standing)
    seconds = sorted((table[1] for table in tables), key=Team.standing)
    thirds = sorted((table[2] for table in tables), key=Team.standing)[:8]
    return firsts + seconds + thirds


class Console(Protocol):
    def write(self, text: str) -> Any: ...


class MatchHooks(Protocol):
    """What a run does around each match: before kick-off (at the model's probability that
    the market says YES) and after the final whistle."""

    def before(self, match: Match, probability: float) -> None: ...
    def after(self, match: Match) -> None: ...


def tournament_play(
    seed: int, hooks: MatchHooks | None = None, stdout: Console | None = None
) -> Tournament:
    """Plays the tournament of `seed` to the end; `hooks` run around every match."""
    model = WorldCupModel(seed)
    tournament = model.draw(seed)

    def match(number: int, stage: str, home: Team, away: Team) -> Match:
        played = Match(number, stage, home, away)
        played.symbol = f"{SYMBOL_PREFIX}S{seed}-M{number:03d}"
        if hooks is not None:
            probability = model.home_win_probability(home, away, knockout=played.knockout)
            hooks.before(played, probability)
        model.play(played)
        tournament.matches.append(played)
        if hooks is not None:
            hooks.after(played)
        return played

    number = 0
    for stage, home, away in _fixtures(tournament):
        number += 1
        match(number, stage, home, away)
    teams = _qualified(tournament)
    # 1 v 32, 2 v 31, ...: the best seeds meet the weakest qualifiers
    bracket = [(teams[i], teams[len(teams) - 1 - i]) for i in range(len(teams) // 2)]
    losers: list[Team] = []
    for stage in KNOCKOUT_STAGES:
        winners, losers = [], []
        for home, away in bracket:
            number += 1
            played = match(number, stage, home, away)
            winners.append(played.winner)
            losers.append(played.loser)
        bracket = [(winners[i], winners[i + 1]) for i in range(0, len(winners), 2)]
        if stdout is not None and stage != KNOCKOUT_STAGES[-1]:
            stdout.write(f"{stage}: {', '.join(team.name for team in winners)} go through")
    third = match(number + 1, "Match for third place", losers[0], losers[1])
    final = match(number + 2, "Final", *bracket[0])
    tournament.champion = final.winner
    if stdout is not None:
        stdout.write(f"Third place: {third.winner.name}. Champion: {final.winner.name}.")
    return tournament


@dataclass
class WorldCupClock:
    """The simulation's time: kick-off n is `start + n * step`. A real-time clock waits
    for each kick-off (the demo's short clock, for visitors to watch); otherwise the
    simulation runs ahead of the wall clock."""

    start: datetime
    step: timedelta = timedelta(minutes=2)
    realtime: bool = False

    def kickoff(self, number: int) -> datetime:
        return self.start + number * self.step

    def wait_for(self, moment: datetime) -> None:
        if self.realtime:
            time.sleep(max((moment - timezone.now()).total_seconds(), 0))


@dataclass
class WorldCupCast:
    """Who plays the tournament's roles (the demo's logins)."""

    group: RiskGroup
    house: Institution
    proposer: User
    editor: User
    operator: User
    traders: tuple[User, User]


class WorldCupRun:
    """Lists, trades, closes and resolves each match's market as the tournament goes."""

    def __init__(self, cast: WorldCupCast, seed: int, clock: WorldCupClock) -> None:
        self.cast = cast
        self.seed = seed
        self.clock = clock
        self.shard = shard_of(risk_group=cast.group)
        self.markets: dict[int, Market] = {}

    # Each half of a match is one transaction, its engine commands applied inside it by
    # this process's writer (as the demo's seed does): one commit instead of one per step.

    def before(self, match: Match, probability: float) -> None:
        with transaction.atomic():
            kickoff = self.clock.kickoff(match.number)
            market = self.markets[match.number] = self._list(match, kickoff)
            shard_process(self.shard.pk)  # the market is in the engine: orders may name it
            self._trade(market, probability)

    def after(self, match: Match) -> None:
        self.clock.wait_for(self.clock.kickoff(match.number) + FULL_TIME)
        with transaction.atomic():
            market = self.markets.pop(match.number)
            self._close_and_resolve(market, match, self.clock.kickoff(match.number))

    def _list(self, match: Match, kickoff: datetime) -> Market:
        cast = self.cast
        question = (
            f"{match.home.name} go through against {match.away.name}"
            if match.knockout
            else f"{match.home.name} beat {match.away.name}"
        )
        drafted = kickoff - timedelta(days=7)
        proposal = proposal_create(
            actor=cast.proposer,
            title=f"List a 2026 World Cup match market: {question}",
            proposal_type=ProposalType.MARKET,
            risk_group=cast.group,
            institution=cast.house,
            body=f"{match.stage}, match {match.number} of the simulated tournament "
            f"(seed {self.seed}). YES if {question.lower()}.",
            spec=world_cup_binary_spec(
                symbol=match.symbol,
                name=f"{match.stage}: {question}",
                close=kickoff,
                source="The simulation's match report",
                dispute_window_hours=0,
            ),
            now=drafted,
        )
        _final(
            proposal,
            author=cast.proposer,
            editor=cast.editor,
            operator=cast.operator,
            voters=[],
            start=drafted,
        )
        market = Market.objects.get(xip=proposal)
        for move in ("schedule", "launch"):
            market_status_change(
                actor=cast.operator,
                market=market,
                move=move,
                reason="World Cup simulation",
                launch_at=drafted,
                now=drafted,
            )
        return market

    def _trade(self, market: Market, probability: float) -> None:
        """The first trader buys YES at the model's price, the second NO against it."""
        listed = market_engine_config(market)
        cents = min(max(round(probability * 100), 5), 95)
        price = Decimal(cents) / 100
        yes_buyer, no_buyer = self.cast.traders
        commands_submit(
            risk_group=self.cast.group,
            items=[
                BatchItem(
                    account=trader.pk,
                    command={
                        "type": "PlaceOrder",
                        "market": market.symbol,
                        "side": "buy",
                        "outcome": outcome,
                        "size": listed.size(STAKE_SHARES),
                        "price": listed.price(at),
                    },
                )
                for trader, outcome, at in ((yes_buyer, "yes", price), (no_buyer, "no", 1 - price))
            ],
        )

    def _close_and_resolve(self, market: Market, match: Match, kickoff: datetime) -> None:
        # kick-off: the engine closes the market by its own close time, the registry follows
        self._engine_clock(kickoff)
        markets_timers_run(now=kickoff)
        full_time = kickoff + FULL_TIME
        resolution_propose(
            actor=self.cast.proposer,
            market=market,
            outcome="yes" if match.yes else "no",
            evidence_url=EVIDENCE.format(seed=self.seed, number=match.number),
            now=full_time,
        )
        shard_process(self.shard.pk)
        # the dispute window is zero hours: the scheduled settlement pays it out at once
        resolutions_settle_due(now=full_time)
        shard_process(self.shard.pk)

    def _engine_clock(self, moment: datetime) -> None:
        command_submit(
            risk_group=self.cast.group,
            account=0,
            command={"type": "AdvanceTime", "ts": int(moment.timestamp() * 1000)},
        )
        shard_process(self.shard.pk)


def worldcup_cast(*, group: RiskGroup | None = None) -> WorldCupCast:
    """The demo's logins in their roles (run `manage.py seed_demo` first)."""
    users = {
        role: User.objects.get(email=f"{role}@demo.exchange-os.test")
        for role in ("institution", "editor", "operator", "trader")
    }
    group = group or RiskGroup.objects.get(slug="regulated-main")
    second = User.objects.filter(email="builder@demo.exchange-os.test").first()
    return WorldCupCast(
        group=group,
        house=Institution.objects.get(slug=HOUSE),
        proposer=users["institution"],
        editor=users["editor"],
        operator=users["operator"],
        traders=(users["trader"], second or users["institution"]),
    )


def worldcup_simulate(
    *,
    seed: int,
    cast: WorldCupCast,
    start: datetime | None = None,
    step: timedelta = timedelta(minutes=2),
    realtime: bool = False,
    stdout: Console | None = None,
) -> Tournament:
    """Plays the tournament of `seed` to the end (see the module's docstring)."""
    clock = WorldCupClock(start or timezone.now(), step, realtime)
    return tournament_play(seed, WorldCupRun(cast, seed, clock), stdout)
