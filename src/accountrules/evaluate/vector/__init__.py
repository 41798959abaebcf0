"""A vectorised evaluator: a whole portfolio per numpy operation instead of one account per closure.

Each resolved AST node is compiled (once per policy, :func:`compile_program`) into a function
of a column *frame* (:mod:`.expressions` over the masked values of :mod:`.values`); the
program (:mod:`.program`) is run over a batch chunk by chunk (:mod:`.run`), portfolio
functions ranked over the whole batch at once (:mod:`.ranking`). Which rows match is all
this evaluator answers: hit policies, conflicts and action merging are
:mod:`accountrules.evaluate.semantics`, shared with the per-account evaluators.

    batch = ColumnBatch.from_arrow(table)           # or from_envs / from_mapping
    program = compile_program(policy.plan)          # optional: hold it for many batches
    out = decide_columns(policy, batch, as_of=date(2026, 6, 30), program=program)
    out["tier"][i], out["actions"][i], out["error"][i]
"""

from accountrules.evaluate.vector.columns import Column, ColumnBatch
from accountrules.evaluate.vector.program import VectorProgram, compile_program
from accountrules.evaluate.vector.ranking import id_ranked, portfolio_stats, ranked_columns
from accountrules.evaluate.vector.run import Decided, decide_columns, finish_lists, run_program
from accountrules.io.schema import evaluator_columns as output_keys

__all__ = ["Column", "ColumnBatch", "Decided", "VectorProgram", "compile_program", "decide_columns",
           "finish_lists", "id_ranked", "output_keys", "portfolio_stats",
           "ranked_columns", "run_program"]
