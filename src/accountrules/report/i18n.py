"""The labels of the report's codes, in Chinese or English.

The report's own words (titles, column heads, notes, the "how to read this" texts) are
messages of the shared gettext catalogue (:mod:`accountrules.i18n`, domain ``accountrules``),
written ``_("...")`` where they are shown, like the command line's. A few read differently in
a report than on the command line (``Tier``, ``Segment``, ``(none)``): those carry the message
context ``report`` (``pgettext("report", ...)``). A code (a tier, a segment value, an action) is
labelled by :func:`label`: the policy's own label first, then the shared vocabulary of
:mod:`accountrules.model.enums`.
"""

from __future__ import annotations

from accountrules.check.spec import PolicySpec
from accountrules.i18n import gettext_for, translations
from accountrules.model.enums import LABELS

__all__ = ["label"]


def label(spec: PolicySpec | None, code: str | None, lang: str, section: str = "") -> str:
    """The label of a code: the policy's own first (tier, segment values, actions), else the shared
    vocabulary, else the code itself."""
    if code is None or code == "(none)":
        return translations(lang).pgettext("report", "(none)")
    if spec is not None:
        if section == "tier" and spec.tiers is not None and code in spec.tiers.values:
            return spec.tiers.values[code].in_(lang)
        if section.startswith("segment.") and section[8:] in spec.segments:
            vals = spec.segments[section[8:]].values
            if code in vals:
                return vals[code].in_(lang)
        if section == "action" and spec.actions is not None and code in spec.actions.catalog:
            return spec.actions.catalog[code].title.in_(lang)
        if section == "segment_name" and code in spec.segments and spec.segments[code].label is not None:
            lab = spec.segments[code].label
            assert lab is not None
            return lab.in_(lang)
    if code in LABELS:
        return LABELS[code][lang]
    if code in ("(default)", "default"):  # the rule that decided when no row matched
        _ = gettext_for(lang)
        return _("(default)")
    return code
