"""The 15th/30th summary at province scale: its figures, its PDF, and both together.

Times the same steps the admin's "Lập bản nháp" + "Công bố" take, without the HTTP layer:
`compute_figures` for the period of the benchmark's today, then the WeasyPrint PDF of them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask
from sqlmodel import Session, select

from outreach.core.periods import period_containing
from outreach.models import Campaign
from outreach.summaries.document import render_document_pdf
from outreach.summaries.service import compute_figures

from .datasets import TODAY

WARMUP = 1


def time_summary(app: Flask, iterations: int) -> tuple[list[float], list[float], int]:
    """(figures ms, PDF ms) per run, and the PDF's size in bytes of the last run."""
    figures_ms, pdf_ms, size = [], [], 0
    with Session(app.extensions["engine"]) as session:  # no app context: the PDF needs none
        campaign = session.exec(select(Campaign).where(Campaign.is_active)).first()
        period = period_containing(TODAY)
        for i in range(WARMUP + iterations):
            started = time.perf_counter()
            figures = compute_figures(
                session, campaign=campaign, period=period, cutoff=datetime.now(UTC)
            )
            computed = time.perf_counter()
            pdf = render_document_pdf(figures)
            done = time.perf_counter()
            session.rollback()  # no snapshot held between runs
            if i >= WARMUP:
                figures_ms.append((computed - started) * 1000)
                pdf_ms.append((done - computed) * 1000)
                size = len(pdf)
    return figures_ms, pdf_ms, size
