"""The failure gallery: one card per failed question with its image thumbnails (base64 PNG inside the
page), the question, the target's answer, the verifier's verdict and justification, and its skills;
filtered in the page by skill and by method (`FILTER_SCRIPT`, a few lines of plain JavaScript; the
filter can also be preset by the address: report.html#skill=counting&method=rl).

Images are read from their uri and checked against their hash; one that is missing, changed or not an
image shows a short note instead of a thumbnail. At most `limit` cards are drawn, taken round-robin over
methods so every method is shown; the page says how many failures there were in all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from itertools import zip_longest

from scotoma.report.runs import ProbeRow
from scotoma.thumbnails import numbered_thumbnails

THUMBNAIL_SIDE = 160

FILTER_SCRIPT = """
(function () {
  var skill = document.getElementById('skill-filter');
  var method = document.getElementById('method-filter');
  var count = document.getElementById('gallery-count');
  function apply() {
    var shown = 0;
    document.querySelectorAll('#gallery .card').forEach(function (card) {
      var skills = (card.getAttribute('data-skills') || '').split('|');
      var ok = (!skill.value || skills.indexOf(skill.value) >= 0) &&
               (!method.value || card.getAttribute('data-method') === method.value);
      card.style.display = ok ? '' : 'none';
      if (ok) { shown += 1; }
    });
    count.textContent = shown + ' shown';
  }
  var wanted = new URLSearchParams(window.location.hash.slice(1));
  if (wanted.get('skill') !== null) { skill.value = wanted.get('skill'); }
  if (wanted.get('method') !== null) { method.value = wanted.get('method'); }
  skill.addEventListener('change', apply);
  method.addEventListener('change', apply);
  apply();
})();
"""


def pick(rows: Sequence[ProbeRow], limit: int) -> list[ProbeRow]:
    """Up to `limit` rows, alternating between methods in order of appearance."""
    by_method: dict[str, list[ProbeRow]] = {}
    for row in rows:
        by_method.setdefault(row.method, []).append(row)
    mixed = [r for group in zip_longest(*by_method.values()) for r in group if r is not None]
    return mixed[:limit]


def card(row: ProbeRow, skills: Sequence[str]) -> str:
    """One failure as an HTML card."""
    reference = f"<div><b>Right answer:</b> {escape(row.reference)}</div>" if row.reference else ""
    chips = "".join(f'<span class="chip">{escape(s)}</span>' for s in skills)
    return (
        f'<div class="card" data-skills="{escape("|".join(skills))}" data-method="{escape(row.method)}">'
        f"{numbered_thumbnails(row.images, THUMBNAIL_SIDE)}"
        f'<div class="q">{escape(row.question or "")}</div>'
        f"<div><b>Target's answer:</b> {escape(row.answer or '-')}</div>{reference}"
        f'<div><b>Verdict:</b> <span class="wrong">wrong answer</span></div>'
        f"<div><b>Justification:</b> {escape(row.reason or '-')}</div>"
        f'<div class="meta">{escape(row.method)}{f" · step {row.step}" if row.step is not None else ""}</div>'
        f'<div class="chips">{chips}</div></div>'
    )


def gallery(
    failures: Sequence[ProbeRow],
    skills_of: Callable[[ProbeRow], Sequence[str]],
    skill_order: Sequence[str],
    limit: int = 120,
) -> str:
    """The gallery section body: filters, count and cards."""
    chosen = pick(failures, limit)
    skill_options = "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in skill_order)
    methods = list(dict.fromkeys(r.method for r in failures))
    method_options = "".join(f'<option value="{escape(m)}">{escape(m)}</option>' for m in methods)
    cards = "".join(card(row, skills_of(row)) for row in chosen)
    return (
        '<div class="filters"><label>Skill <select id="skill-filter"><option value="">all skills</option>'
        f"{skill_options}</select></label> "
        f'<label>Method <select id="method-filter"><option value="">all methods</option>{method_options}'
        f'</select></label> <span id="gallery-count"></span> '
        f"<span>({len(chosen)} of {len(failures)} failures drawn)</span></div>"
        f'<div id="gallery">{cards}</div>'
    )
