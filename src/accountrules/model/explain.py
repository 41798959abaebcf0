"""Render a Decision's trace as text a business owner can follow, in Chinese or English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from accountrules.i18n import Gettext, normalise_lang, translations
from accountrules.model.enums import LABELS

if TYPE_CHECKING:
    from accountrules.model.decision import Decision, TraceEntry

def _words(_: Gettext) -> dict[str, str]:
    """The fixed words of an explanation, from the gettext catalogue (accountrules.i18n)."""
    return {
        "head": _("Account {id} — policy {name} {version} (as of {as_of})"),
        "tier": _("Tier"), "segment": _("Segment"), "stage": _("Stage"), "churn": _("Churn"),
        "actions": _("Actions"), "because": _("because"), "rule": _("rule"),
        "default": _("no row matched; default applies"), "stay": _("no transition applies; stays"),
        "none": _("none"), "risk": _("risk"), "due": _("due"), "owner": _("owner"), "score": _("score"),
        "from": _("from"), "reasons": _("prescribed by"), "ranks": _("ranks"),
    }


def _label(code: str, lang: str) -> str:
    entry = LABELS.get(code)
    return entry[lang] if entry else code


def _inputs(t: TraceEntry, memo: dict[int, str]) -> str:
    """The values an entry read, as text; the same in every language, so ``memo`` (by entry) keeps it for
    the next language of the same decision."""
    text = memo.get(id(t))
    if text is None:
        text = memo[id(t)] = ", ".join(f"{k} = {_fmt(v)}" for k, v in t.inputs.items())
    return text


def _fmt(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:,.2f}"
    return str(v)


Basis = dict[str, "TraceEntry"]  # rank name -> the trace's ``metric`` entry for what it ranks


def _bases(t: TraceEntry, w: dict[str, str], lang: str, basis: Basis, memo: dict[int, str]) -> str:
    """Beside each rank the entry read: the value it ranks and that value's definition."""
    parts = []
    for name in t.inputs:
        b = basis.get(name)
        if b is None:
            continue
        desc = f" ({b.description.in_(lang)})" if b.description else ""
        parts.append(f"{name} {w['ranks']} {_inputs(b, memo)}{desc}")
    return "".join(f"; {p}" for p in parts)


def _reason(t: TraceEntry | None, w: dict[str, str], lang: str, basis: Basis, memo: dict[int, str]) -> str:
    """Why a trace entry decided: the rule, its description and seeds, the values it read, and
    beside each rank among them the value it ranks with its definition."""
    if t is None:
        return ""
    if t.note == "default":
        return w["default"]
    if t.note == "stay":
        return w["stay"]
    desc = f" ({t.description.in_(lang)})" if t.description else ""
    seed = f" [{', '.join(t.seed)}]" if t.seed else ""
    inputs = f"; {w['because']} {_inputs(t, memo)}" if t.inputs else ""
    ranked = _bases(t, w, lang, basis, memo) if basis else ""
    return f"{w['rule']} {t.rule}{desc}{seed}{inputs}{ranked}"


def _why(t: TraceEntry | None, w: dict[str, str], lang: str, basis: Basis, memo: dict[int, str]) -> str:
    reason = _reason(t, w, lang, basis, memo)
    return f"  — {reason}" if reason else ""


def render(d: Decision, lang: str = "en") -> str:
    """``d`` explained in ``lang``: ``zh`` or ``en``, or a locale naming one (``zh-CN``, ``zh_CN.UTF-8``)."""
    return render_each(d, (lang,))[0]


def render_each(d: Decision, langs: Sequence[str]) -> list[str]:
    """``d`` explained in each of ``langs``; what does not depend on the language (the trace by
    section, the values read, as text) is worked out once for all of them."""
    lang_names = [normalise_lang(lang) for lang in langs]  # ValueError for another language
    by_section: dict[str, list[TraceEntry]] = {}
    basis: Basis = {}
    for t in d.trace:
        by_section.setdefault(t.section, []).append(t)
        if t.section == "metric" and t.output is not None:
            basis.setdefault(t.output, t)
    memo: dict[int, str] = {}
    return [_render(d, lang, by_section, basis, memo) for lang in lang_names]


def _render(d: Decision, lang: str, by_section: dict[str, list[TraceEntry]], basis: Basis,
            memo: dict[int, str]) -> str:
    w = _words(translations(lang).gettext)

    def first(section: str) -> TraceEntry | None:
        entries = by_section.get(section)
        return entries[0] if entries else None

    lines = [w["head"].format(id=d.account_id, name=d.policy.name, version=d.policy.version, as_of=d.as_of)]
    for name, seg in d.segments.items():
        lines.append(f"{w['segment']} {name}: {seg.label.in_(lang)} ({seg.code})"
                     + _why(first(f"segment:{name}"), w, lang, basis, memo))
    if d.tier is not None:
        lines.append(f"{w['tier']}: {d.tier.label.in_(lang)} ({d.tier.code})"
                     + _why(first("tier"), w, lang, basis, memo))
    if d.stage is not None:
        s = d.stage
        origin = f"{w['from']} {_label(s.from_, lang)} → " if s.from_ and s.from_ != s.to else ""
        lines.append(f"{w['stage']}: {origin}{s.label.in_(lang)}" + _why(first("stage"), w, lang, basis, memo))
    if d.churn is not None:
        c = d.churn
        score = f", {w['score']} {_fmt(c.score)}" if c.score is not None else ""
        lines.append(f"{w['churn']}: {c.label.in_(lang)}, {w['risk']} {_label(c.risk, lang)}{score}"
                     + _why(first("churn"), w, lang, basis, memo))
    lines.append(f"{w['actions']}: {w['none'] if not d.actions else ''}".rstrip())
    rules = {t.rule: t for t in by_section.get("actions", [])}
    reasons: dict[str, str] = {}  # one action rule often prescribes several actions: its reason is written once
    for a in d.actions:
        lines.append(f"  - {a.title.in_(lang)} ({a.code}); {w['owner']} {_label(a.owner, lang)}, "
                     f"{_label(a.priority, lang)}, {w['due']} {a.due}")
        for r in a.reasons:
            text = reasons.get(r)
            if text is None:
                text = reasons[r] = f"    {w['reasons']}: {_reason(rules.get(r), w, lang, basis, memo)}"
            lines.append(text)
    return "\n".join(lines)
