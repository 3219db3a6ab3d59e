"""Catalogue: notifications to residents (service/notifications): the inbox's and
the messages' texts, by event type. code -> (zh-Hans, ug, en)."""

from __future__ import annotations

_YOURS = (
    "您的工单 {number}（{category}）",
    "سىزنىڭ {number} نومۇرلۇق خىزمەت بېلىتىڭىز ({category})",
)

MESSAGES: dict[str, tuple[str, str, str]] = {
    "notification.not_found": (
        "没有您的通知 {id}。",
        "سىزنىڭ {id} نومۇرلۇق ئۇقتۇرۇشىڭىز يوق.",
        "No notification {id} of yours.",
    ),
    # A notification quoting someone's words (a reason, a comment) or a hold's reason.
    "notice.quoting": ("{body}：{said}", "{body}: {said}", "{body}: {said}"),
    "notice.ticket.accepted.title": (
        "工单已受理",
        "خىزمەت بېلىتى قوبۇل قىلىندى",
        "Ticket accepted",
    ),
    "notice.ticket.accepted.body": (
        _YOURS[0] + "已受理，工作人员将尽快处理。",
        _YOURS[1] + " قوبۇل قىلىندى، خادىملار تېزدىن بىر تەرەپ قىلىدۇ.",
        "Your ticket {number} ({category}) has been accepted; staff will deal with it soon.",
    ),
    "notice.ticket.started.title": (
        "工单开始处理",
        "بىر تەرەپ قىلىش باشلاندى",
        "Work has started",
    ),
    "notice.ticket.started.body": (
        _YOURS[0] + "已开始处理。",
        _YOURS[1] + " بىر تەرەپ قىلىنىشقا باشلىدى.",
        "Work on your ticket {number} ({category}) has started.",
    ),
    "notice.ticket.held.title": (
        "工单暂停处理",
        "خىزمەت بېلىتى ۋاقىتلىق توختىتىلدى",
        "Put on hold",
    ),
    "notice.ticket.held.body": (
        _YOURS[0] + "暂停处理",
        _YOURS[1] + " ۋاقىتلىق توختىتىلدى",
        "Your ticket {number} ({category}) is on hold",
    ),
    "notice.ticket.resolved.title": (
        "工单已办结，请确认",
        "ھەل قىلىندى، جەزملەڭ",
        "Resolved: please confirm",
    ),
    "notice.ticket.resolved.body": (
        _YOURS[0] + "已办结，请确认并评价。",
        _YOURS[1] + " ھەل قىلىندى، جەزملەپ باھا بېرىڭ.",
        "Your ticket {number} ({category}) has been resolved; please confirm and rate the work.",
    ),
    "notice.ticket.closed.title": ("工单已关闭", "خىزمەت بېلىتى تاقالدى", "Ticket closed"),
    "notice.ticket.closed.body": (
        _YOURS[0] + "办结后未获确认，已自动关闭。",
        _YOURS[1] + " ھەل قىلىنغاندىن كېيىن جەزملەنمىگەچكە، ئاپتوماتىك تاقالدى.",
        "Your ticket {number} ({category}) was resolved and not confirmed in time, "
        "so it was closed.",
    ),
    "notice.ticket.rejected.title": ("工单已驳回", "خىزمەت بېلىتى رەت قىلىندى", "Ticket rejected"),
    "notice.ticket.rejected.body": (
        _YOURS[0] + "已被驳回",
        _YOURS[1] + " رەت قىلىندى",
        "Your ticket {number} ({category}) was rejected",
    ),
    "notice.ticket.cancelled.title": (
        "工单已撤销",
        "خىزمەت بېلىتى بىكار قىلىندى",
        "Ticket cancelled",
    ),
    "notice.ticket.cancelled.body": (
        _YOURS[0] + "已被撤销",
        _YOURS[1] + " بىكار قىلىندى",
        "Your ticket {number} ({category}) was cancelled",
    ),
    "notice.ticket.commented.title": (
        "工单有新回复",
        "خىزمەت بېلىتىگە يېڭى جاۋاب",
        "New reply",
    ),
    "notice.ticket.commented.body": (
        "工作人员回复了您的工单 {number}（{category}）",
        "خادىملار {number} نومۇرلۇق خىزمەت بېلىتىڭىزگە ({category}) جاۋاب يازدى",
        "Staff replied on your ticket {number} ({category})",
    ),
}
