"""Everything the checks share about one policy: its boxes, the regions where each output takes
each value, and the realizer that turns boxes into witness accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from accountrules.analysis.conditions import Conditions
from accountrules.analysis.domain import Box
from accountrules.analysis.realize import Realizer
from accountrules.check.policy_check import all_expressions
from accountrules.check.spec import Row, Table
from accountrules.compile.plan import CTable
from accountrules.parse.expr_ast import Expr

if TYPE_CHECKING:
    from accountrules.policy import Policy

MAX_BOXES = 64  # a region with more pieces than this is cut short: witnesses need one, not all


class Context:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.plan = policy.plan
        self.spec = policy.spec
        self.conds = Conditions(self.spec)
        for row in self.all_rows():
            self.conds.collect(row.when)
        if self.spec.stages is not None:
            self.conds.ensure_enum("relationship.stage", self.spec.stages.states)
        self.space = self.conds.build()
        self.realizer = Realizer(policy, self.conds, self.expand)
        self._decides: dict[str, list[list[Box]]] = {}
        self._default: dict[str, list[Box]] = {}

    def tables(self) -> Iterator[CTable]:
        yield from self.plan.segments
        if self.plan.tiers is not None:
            yield self.plan.tiers
        if self.plan.churn is not None:
            yield self.plan.churn

    def all_rows(self) -> Iterator[Row]:
        s = self.spec
        for t in (*s.segments.values(), s.tiers, s.churn):
            if t is not None:
                yield from t.rows
        if s.stages is not None:
            yield from s.stages.transitions
        if s.actions is not None:
            yield from s.actions.rules

    def fires(self, e: Expr | None) -> list[Box]:
        return self.conds.fires(e)

    # -- where a table decides each row
    def decides(self, t: CTable) -> list[list[Box]]:
        """For each row, the boxes where it is the row that decides the table (first-hit order)."""
        got = self._decides.get(t.section)
        if got is None:
            got = []
            before: list[Box] = []
            for r in t.rows:
                mine = self.fires(r.row.when)
                if t.hit == "first":
                    got.append(self.space.subtract(mine, before)[:MAX_BOXES])
                else:
                    got.append(list(mine))
                before.extend(mine)
            self._decides[t.section] = got
        return got

    def default_region(self, t: CTable) -> list[Box]:
        got = self._default.get(t.section)
        if got is None:
            cover = [b for r in t.rows for b in self.fires(r.row.when)]
            got = self._default[t.section] = self.space.complement(cover)[:MAX_BOXES]
        return got

    def table_of(self, key: str) -> CTable | None:
        for t in self.tables():
            if t.output_key == key:
                return t
        return None

    def region(self, key: str, values: set[Any]) -> list[Box]:
        """Boxes (over inputs) where output ``key`` takes one of ``values``."""
        out: list[Box] = []
        if key == "stage":
            return self._stage_region(values)
        if key == "churn.risk":
            t = self.plan.churn
            assert t is not None
            for r, boxes in zip(t.rows, self.decides(t), strict=True):
                if r.row.risk in values:
                    out += boxes
            if t.table.default_risk in values:
                out += self.default_region(t)
            return out[:MAX_BOXES]
        t = self.table_of(key)
        if t is None:
            return []
        for r, boxes in zip(t.rows, self.decides(t), strict=True):
            if r.row.then in values:
                out += boxes
        if t.table.default in values:
            out += self.default_region(t)
        return out[:MAX_BOXES]

    def _stage_region(self, values: set[Any]) -> list[Box]:
        st = self.plan.stages
        assert st is not None
        out: list[Box] = []
        svar = self.space.vars["relationship.stage"]
        for s in st.states:
            at_s = svar.mask_of(lambda c, s=s: c.rep == s or (s == st.start and c.null))
            before: list[Box] = []
            for i in st.by_source.get(s, ()):
                row = st.rows[i]
                mine = self.fires(row.row.when)
                if row.row.then in values:
                    here = self.space.meet_all([{svar.key: at_s}], self.space.subtract(mine, before))
                    out += here
                before += mine
            stay = s if st.otherwise == "stay" else st.otherwise
            if stay in values:
                out += self.space.meet_all([{svar.key: at_s}], self.space.complement(before))
            if len(out) > MAX_BOXES:
                break
        return out[:MAX_BOXES]

    def expand(self, box: Box) -> list[Box]:
        """Replace every output variable of ``box`` by the input region that produces it."""
        todo = [box]
        done: list[Box] = []
        while todo and len(done) < MAX_BOXES:
            b = todo.pop()
            key = next((k for k in b if self.space.vars[k].origin == "output"), None)
            if key is None:
                done.append(b)
                continue
            v = self.space.vars[key]
            values = {c.rep for i, c in enumerate(v.cells) if (b[key] >> i) & 1}
            rest = {k: m for k, m in b.items() if k != key}
            todo.extend(self.space.meet_all([rest], self.region(key, values))[:MAX_BOXES])
        return done

    def expressions(self) -> list[Expr]:
        return list(all_expressions(self.spec))


def table_label(t: Table) -> str:
    return "tiers" if t.name == "tier" else "churn" if t.name == "churn" else f"segments.{t.name}"
