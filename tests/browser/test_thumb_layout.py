"""Every main page of every role fits a thumb on a 360×740 phone: no sideways scroll, every tap
target visible on the page at least 44×44 px (links inside a sentence excepted, as WCAG 2.5.8
allows), and date fields that take a day first whatever the phone's language."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlmodel import select

from outreach.models import Household, ImportBatch
from tests.browser.test_login_journeys import log_in

# What a tap target is, and how big it really is: a radio or checkbox counts with its label.
SMALL_TARGETS = """() => {
  const small = [];
  const targets = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]');
  for (const el of targets) {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (el.closest('.sr-only') || el.classList.contains('skip')) continue;
    // A link within a sentence is exempt: its line is the text's.
    const parent = el.parentElement;
    if (el.tagName === 'A' && style.display === 'inline' && parent &&
        parent.textContent.trim() !== el.textContent.trim()) continue;
    let w = r.width, h = r.height;
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label') || (el.id && document.querySelector('label[for="' + el.id + '"]'));
      if (label) {
        const l = label.getBoundingClientRect();
        w = Math.max(w, l.width); h = Math.max(h, l.height);
      }
    }
    if (w < 43.5 || h < 43.5) {
      small.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' +
        (el.textContent || el.value || el.name || '').trim().slice(0, 30) + '" ' +
        Math.round(w) + 'x' + Math.round(h));
    }
  }
  return small;
}"""


def _pages(read_db) -> dict[str, list[str]]:
    def first_ids(s):
        household = s.exec(select(Household).order_by(Household.id)).first()
        batch = s.exec(select(ImportBatch).order_by(ImportBatch.id)).first()
        return household, batch

    household, batch = read_db(first_ids)
    leader = [
        "/",
        "/dashboard",
        "/dashboard/list?kind=never_visited",
        "/rankings",
        "/targets",
        "/leader/assign",
        "/leader/review",
        "/leader/promises",
        "/worklist/canvassers",
        "/calculator",
    ]
    admin = [
        "/",
        "/imports",
        "/admin/users",
        "/admin/villages",
        "/admin/campaigns",
        "/admin/audit",
        "/summaries",
        "/dashboard",
    ]
    if batch:
        admin.append(f"/imports/{batch.id}")
    return {
        "canbo.07210.1": ["/worklist", "/outbox", "/calculator"],
        "lanhdao.07210": leader,
        "admin": admin,
        "baochi": ["/", "/summaries"],
        "_household": [str(household.id)],
    }


def _canvasser_pages(read_db) -> list[str]:
    def mine(s):
        from outreach.models import User

        me = s.exec(select(User).where(User.username == "canbo.07210.1")).one()
        return s.exec(select(Household.id).where(Household.assigned_canvasser_id == me.id)).first()

    household_id = read_db(mine)
    return [f"/households/{household_id}", f"/households/{household_id}/visits/new"]


@pytest.mark.parametrize("username", ["canbo.07210.1", "lanhdao.07210", "admin", "baochi"])
def test_every_main_page_fits_a_thumb(page: Page, read_db, username, no_horizontal_scroll):
    paths = _pages(read_db)[username]
    if username == "canbo.07210.1":
        paths = paths + _canvasser_pages(read_db)
    log_in(page, username)
    problems: dict[str, list[str]] = {}
    for path in paths:
        page.goto(path)
        no_horizontal_scroll()
        small = page.evaluate(SMALL_TARGETS)
        if small:
            problems[path] = small
        # Dates are typed day first: no native date picker that follows the phone's locale.
        assert page.locator('input[type="date"]').count() == 0, path
    assert not problems, problems
