"""The analysts' and supervisors' screens (thin views: parse, fetch with permission, one service).

One module per screen family: `queue` (triage, bulk, export), `case` (a case and its workflow),
`overview` (investigations, search, dashboards, notifications); `common` holds what they share,
the read path of personal data included (`privacy.reads`).
"""

from cases.views.case import (
    case_action,
    detail,
    evidence_download,
    evidence_upload,
    notice_print,
    task_done,
)
from cases.views.home import home
from cases.views.overview import dashboard, investigations, notifications, person_search
from cases.views.queue import (
    bulk,
    export_csv,
    next_case,
    queue,
    saved_view_delete,
    saved_view_save,
)

__all__ = [
    "bulk",
    "case_action",
    "dashboard",
    "detail",
    "evidence_download",
    "evidence_upload",
    "export_csv",
    "home",
    "investigations",
    "next_case",
    "notice_print",
    "notifications",
    "person_search",
    "queue",
    "saved_view_delete",
    "saved_view_save",
    "task_done",
]
