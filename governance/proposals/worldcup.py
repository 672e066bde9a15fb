"""The 2026 World Cup, simulated from a seed (`manage.py worldcup_simulate --seed N`).

48 teams drawn into 12 groups of four play their group matches; the two best of each group
and the eight best thirds play the knockouts to the final (and the match for third place).
Every match is a single-match binary market (YES: the first-named team wins; in a
knockout, goes through) listed the way anyone's market is: an XIP of the house institution
drafted, submitted, moved to Last Call by an editor, approved by the operator and gone
Final; launched by the operator; closing at kick-off; resolved by the house from the
simulated result through markets.resolutions (the proposal, an undisputed window of
zero hours, settled by the scheduled settlement). The tournament's winner market (one
outcome per team) is listed the same way at the draw; each team knocked out is eliminated
from it as it goes out (markets.resolutions.outcome_eliminate: its NO shares pay at once)
and the champion's outcome resolves YES after the final. Two simulated traders take
opposite sides of every match, and of every team still in the cup after each round, at the
model's probability, so probabilities move and positions pay out.

Everything random comes from one `random.Random(seed)`: the same seed gives the same
draw, the same results, the same markets and the same payouts. The simulation keeps its own
clock (`WorldCupClock`): kick-offs `step` apart from its start, and the engine's clock is
moved to each kick-off by an AdvanceTime, so a tournament of 104 matches plays out in
seconds. Probabilities are floats of the model only; every price and amount is a Decimal.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection, transaction
from django.utils import timezone

from engine.errors import CommandRefused
from engine.services import BatchItem, command_submit, commands_submit, shard_of
from engine.tasks import shard_process
from governance.risk_groups.models import RiskGroup
from markets.models import Market, MarketStatus
from markets.resolutions import outcome_eliminate, resolution_propose, resolutions_settle_due
from markets.services import market_engine_config, market_status_change, markets_timers_run
from xip_portal.mail import mails_discarded
from xip_portal.models import Institution, User

from .demo import HOUSE, WORLD_CUP_TEAMS, _final, world_cup_binary_spec, world_cup_winner_spec
from .models import ProposalType
from .services import proposal_create

logger = logging.getLogger(__name__)

SYMBOL_PREFIX = "WC26-"
GROUP_NAMES = "ABCDEFGHIJKL"
KNOCKOUT_STAGES = ("Round of 32", "Round of 16", "Quarter-final", "Semi-final")
THIRD_PLACE = "Match for third place"
FINAL = "Final"
# 72 group matches, 31 knockouts and the match for third place; the final is the last
MATCHES = 104
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

    def cup_chances(self, teams: list[Team]) -> dict[str, float]:
        """Each team's chance to win the cup among `teams` (its share of their strength)."""
        total = sum(team.strength for team in teams)
        return {team.name: team.strength / total for team in teams}

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
    """What a run does as the tournament goes: at the draw; around each match, before
    kick-off (at the model's probability that the market says YES) and after the final
    whistle; when the group stage has knocked teams out; and after each round, with the
    model's chances of the teams still in it to win the cup."""

    def begin(self, tournament: Tournament, chances: dict[str, float]) -> None: ...
    def before(self, match: Match, probability: float) -> None: ...
    def after(self, match: Match) -> None: ...
    def knocked_out(self, teams: list[Team]) -> None: ...
    def round_over(self, chances: dict[str, float]) -> None: ...


def tournament_play(
    seed: int, hooks: MatchHooks | None = None, stdout: Console | None = None
) -> Tournament:
    """Plays the tournament of `seed` to the end; `hooks` run around every match."""
    model = WorldCupModel(seed)
    tournament = model.draw(seed)
    if hooks is not None:
        everyone = [team for teams in tournament.groups.values() for team in teams]
        hooks.begin(tournament, model.cup_chances(everyone))

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
    if hooks is not None:
        hooks.knocked_out(
            [team for group in tournament.groups.values() for team in group if team not in teams]
        )
        hooks.round_over(model.cup_chances(teams))
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
        if hooks is not None:
            hooks.round_over(model.cup_chances(winners))
        if stdout is not None and stage != KNOCKOUT_STAGES[-1]:
            stdout.write(f"{stage}: {', '.join(team.name for team in winners)} go through")
    third = match(number + 1, THIRD_PLACE, losers[0], losers[1])
    final = match(number + 2, FINAL, *bracket[0])
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

    def winner_close(self) -> datetime:
        """When the winner market closes: at the final's kick-off; in real time, where a
        busy machine may push the final later (`catch_up`), a tournament's length after
        it, the operator closing it at the final whistle."""
        final = self.kickoff(MATCHES)
        return final + (final - self.start if self.realtime else timedelta(0))

    def catch_up(self, number: int) -> None:
        """In real time, a simulation that fell behind the wall clock (a busy machine)
        moves its calendar so that match `number` kicks off a step from now: its market
        is listed and traded before it closes."""
        if self.realtime and self.kickoff(number) < timezone.now() + self.step:
            self.start = timezone.now() + self.step - number * self.step

    def wait_for(self, moment: datetime) -> datetime:
        """`moment`, once it has come; in real time, the wall clock's time then (a late
        step happens at the time it happens: the engine's clock, ticked by the wall
        clock, is there already)."""
        if not self.realtime:
            return moment
        time.sleep(max((moment - timezone.now()).total_seconds(), 0))
        return max(moment, timezone.now())

    def transaction(self) -> AbstractContextManager[Any]:
        """The transaction of one step. In real time (the demo) the server's threads write
        the same shard meanwhile (the market maker, the time tick): each service then
        commits on its own, so that no writer sequences commands after a journal another
        thread has not committed."""
        return nullcontext() if self.realtime else transaction.atomic()


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
    """Lists, trades, closes and resolves each match's market as the tournament goes, and
    the tournament's winner market: each team knocked out is eliminated from it (its NO
    shares pay), and the champion's outcome resolves YES after the final."""

    def __init__(self, cast: WorldCupCast, seed: int, clock: WorldCupClock) -> None:
        self.cast = cast
        self.seed = seed
        self.clock = clock
        self.shard = shard_of(risk_group=cast.group)
        self.markets: dict[int, Market] = {}
        self.winner: Market | None = None
        self.now = clock.kickoff(0)

    # Each step is one transaction, its engine commands applied inside it by this
    # process's writer where a later command needs them applied (as the demo's seed
    # does), the rest by the writer the commit wakes: one commit instead of one per command.

    def begin(self, tournament: Tournament, chances: dict[str, float]) -> None:
        symbol = f"{SYMBOL_PREFIX}S{self.seed}-WINNER"
        with self.clock.transaction():
            self.winner = self._list(
                title="List the winner market of a simulated 2026 World Cup",
                body=f"Who wins the simulated tournament of seed {self.seed}. A team knocked "
                "out resolves NO as the tournament goes; the champion resolves YES.",
                spec=world_cup_winner_spec(
                    symbol=symbol,
                    close=self.clock.winner_close(),
                    source="The simulation's match reports",
                    dispute_window_hours=0,
                ),
                drafted=self.clock.kickoff(1) - timedelta(days=7),
            )
            shard_process(self.shard.pk)
            self._trade_winner(chances)

    def before(self, match: Match, probability: float) -> None:
        question = (
            f"{match.home.name} go through against {match.away.name}"
            if match.knockout
            else f"{match.home.name} beat {match.away.name}"
        )
        self.clock.catch_up(match.number)
        kickoff = self.clock.kickoff(match.number)
        with self.clock.transaction():
            market = self.markets[match.number] = self._list(
                title=f"List a 2026 World Cup match market: {question}",
                body=f"{match.stage}, match {match.number} of the simulated tournament "
                f"(seed {self.seed}). YES if {question.lower()}.",
                spec=world_cup_binary_spec(
                    symbol=match.symbol,
                    name=f"{match.stage}: {question}",
                    close=kickoff,
                    source="The simulation's match report",
                    dispute_window_hours=0,
                ),
                drafted=kickoff - timedelta(days=7),
            )
            shard_process(self.shard.pk)  # the market is in the engine: orders may name it
            cents = min(max(round(probability * 100), 5), 95)
            try:
                self._trade(market, [(market.symbol, Decimal(cents) / 100)])
            except CommandRefused:
                if not self.clock.realtime:
                    raise
                # in real time on a busy machine the match kicked off while it was being
                # listed: it is played untraded
                logger.warning("%s closed before the traders got to it", market.symbol)

    def after(self, match: Match) -> None:
        kickoff = self.clock.kickoff(match.number)
        self.now = self.clock.wait_for(kickoff + FULL_TIME)
        with self.clock.transaction():
            market = self.markets.pop(match.number)
            self._close_and_resolve(market, match, kickoff)
            if match.knockout and match.stage != THIRD_PLACE:
                self._eliminate([match.loser], EVIDENCE.format(seed=self.seed, number=match.number))
            if match.stage == FINAL:
                winner = self._winner()
                winner.refresh_from_db()
                if winner.status != MarketStatus.CLOSED:  # a late final (see winner_close)
                    market_status_change(
                        actor=self.cast.operator,
                        market=winner,
                        move="close",
                        reason="The final was played",
                        now=self.now,
                    )
                    shard_process(self.shard.pk)
                self._resolve(winner, match.winner.name, match.number)

    def knocked_out(self, teams: list[Team]) -> None:
        with self.clock.transaction():
            self._eliminate(teams, EVIDENCE.format(seed=self.seed, number="groups"))

    def round_over(self, chances: dict[str, float]) -> None:
        if len(chances) > 1:
            with self.clock.transaction():
                self._trade_winner(chances)

    def _winner(self) -> Market:
        assert self.winner is not None  # noqa: S101 - listed by `begin`
        return self.winner

    def _list(self, *, title: str, body: str, spec: dict[str, Any], drafted: datetime) -> Market:
        cast = self.cast
        proposal = proposal_create(
            actor=cast.proposer,
            title=title,
            proposal_type=ProposalType.MARKET,
            risk_group=cast.group,
            institution=cast.house,
            body=body,
            spec=spec,
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

    def _trade_winner(self, chances: dict[str, float]) -> None:
        """Both traders take the winner market's outcomes at the model's chances."""
        market = self._winner()
        self._trade(
            market,
            [
                (f"{market.symbol}:{team}", Decimal(min(max(round(chance * 1000), 1), 999)) / 1000)
                for team, chance in chances.items()
            ],
        )

    def _trade(self, market: Market, quotes: list[tuple[str, Decimal]]) -> None:
        """For each (engine market, YES price): the first trader buys YES at that price,
        the second NO against it."""
        listed = market_engine_config(market)
        yes_buyer, no_buyer = self.cast.traders
        commands_submit(
            risk_group=self.cast.group,
            items=[
                BatchItem(
                    account=trader.pk,
                    command={
                        "type": "PlaceOrder",
                        "market": engine_market,
                        "side": "buy",
                        "outcome": outcome,
                        "size": listed.size(STAKE_SHARES),
                        "price": listed.price(at),
                    },
                )
                for engine_market, price in quotes
                for trader, outcome, at in ((yes_buyer, "yes", price), (no_buyer, "no", 1 - price))
            ],
        )

    def _eliminate(self, teams: list[Team], evidence_url: str) -> None:
        for team in teams:
            outcome_eliminate(
                actor=self.cast.proposer,
                market=self._winner(),
                outcome=team.name,
                evidence_url=evidence_url,
                now=self.now,
            )

    def _close_and_resolve(self, market: Market, match: Match, kickoff: datetime) -> None:
        # kick-off: the engine closes the market by its own close time, the registry follows
        self._engine_clock(kickoff)
        markets_timers_run(now=kickoff)
        self._resolve(market, "yes" if match.yes else "no", match.number)

    def _resolve(self, market: Market, outcome: str, number: int) -> None:
        resolution_propose(
            actor=self.cast.proposer,
            market=market,
            outcome=outcome,
            evidence_url=EVIDENCE.format(seed=self.seed, number=number),
            now=self.now,
        )
        shard_process(self.shard.pk)
        # the dispute window is zero hours: the scheduled settlement pays it out at once
        resolutions_settle_due(now=self.now)
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
    return WorldCupCast(
        group=group,
        house=Institution.objects.get(slug=HOUSE),
        proposer=users["institution"],
        editor=users["editor"],
        operator=users["operator"],
        # the two members the demo funds in the group (a trader from elsewhere has no
        # account in its engine, and every order of theirs would be refused)
        traders=(users["trader"], users["institution"]),
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
    """Plays the tournament of `seed` to the end (see the module's docstring). The XIPs'
    notification emails, a few per match, are not sent."""
    clock = WorldCupClock(start or timezone.now(), step, realtime)
    with mails_discarded():
        return tournament_play(seed, WorldCupRun(cast, seed, clock), stdout)


def worldcup_demo_start(*, step: timedelta, stdout: Console) -> threading.Thread:
    """The demo's tournament on a short clock (`serve_demo`): a daemon thread beside the
    server plays the first seed not yet played on this database in real time, a kick-off
    every `step`, so that a visitor watches the match markets list, the market maker quote
    them, probabilities move and positions pay out."""

    def play() -> None:
        try:
            seed = 1
            while Market.objects.filter(symbol=f"{SYMBOL_PREFIX}S{seed}-WINNER").exists():
                seed += 1
            stdout.write(
                f"The simulated World Cup of seed {seed} kicks off: "
                f"a match every {step.total_seconds():g} s."
            )
            worldcup_simulate(
                seed=seed, cast=worldcup_cast(), step=step, realtime=True, stdout=stdout
            )
        except Exception:
            logger.exception("The demo's World Cup stopped")
        finally:
            connection.close()

    thread = threading.Thread(target=play, name="worldcup-demo", daemon=True)
    thread.start()
    return thread
