"""Catalogue: notifications (service/notifications): the inbox's and the
messages' texts, by event type — to residents of their tickets, and the alerts
to staff and to an elder's family (`.family`: they name the elder, never their
health). code -> (zh-Hans, ug, en)."""

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
    # --- alerts (service/notifications/alerts.py) ---
    # Who an alert to the family is about, when the elder's name is no longer known.
    "notice.elder_unnamed": ("您的家人", "ئائىلە ئەزايىڭىز", "your family member"),
    "notice.ticket.escalated.title": (
        "工单超时未响应，已督办",
        "ۋاقتىدا جاۋاب بېرىلمىدى، نازارەتكە يوللاندى",
        "Escalated: not answered in time",
    ),
    "notice.ticket.escalated.body": (
        "{category}工单 {number} 超过时限仍无人接单，请立即处理。",
        "{number} نومۇرلۇق {category} خىزمەت بېلىتىنى ۋاقتىدا ھېچكىم قوبۇل قىلمىدى، "
        "دەرھال بىر تەرەپ قىلىڭ.",
        "Nobody has accepted the {category} ticket {number} by its deadline; please act at once.",
    ),
    "notice.ticket.escalated.family.title": (
        "{elder}的求助尚无人响应",
        "{elder} نىڭ ياردەم تەلىپىگە تېخى جاۋاب بېرىلمىدى",
        "No answer yet to {elder}'s call for help",
    ),
    "notice.ticket.escalated.family.body": (
        "{elder}的{category}求助（{number}）尚无服务人员接单，社区已督办，请尽快与其联系。",
        "{elder} نىڭ {category} تەلىپىنى ({number}) تېخى ھېچقانداق خادىم قوبۇل قىلمىدى، "
        "مەھەللە نازارەت قىلىۋاتىدۇ؛ ئۇنىڭ بىلەن تېزدىن ئالاقىلىشىڭ.",
        "No carer has yet taken {elder}'s call for {category} ({number}); the community "
        "has been alerted. Please get in touch with them soon.",
    ),
    "notice.visit.missed.title": (
        "上门服务未签到",
        "زىيارەت باشلانمىدى",
        "Visit not begun",
    ),
    "notice.visit.missed.body": (
        "{category}服务 {number} 应于 {time} 开始，至今未签到。",
        "{time} دا باشلىنىشى كېرەك بولغان {number} نومۇرلۇق {category} مۇلازىمىتى "
        "تېخىچە تىزىملاتمىدى.",
        "Visit not begun: the {category} visit {number} due at {time} has not been checked in.",
    ),
    "notice.visit.not_home_twice.title": (
        "探访连续两次未遇",
        "يوقلاشتا ئىككى قېتىم ئۆيدە يوق",
        "Not at home twice",
    ),
    "notice.visit.not_home_twice.body": (
        "{category} {number}：老人连续两次探访不在家，请尽快核实其情况。",
        "{category} {number}: ياشانغان كىشى كەينى-كەينىدىن ئىككى قېتىم ئۆيدە يوق، "
        "ئەھۋالىنى تېزدىن ئېنىقلاڭ.",
        "{category} {number}: the elder was not at home at two visits in a row; "
        "please check on them soon.",
    ),
    "notice.visit.not_home_twice.family.title": (
        "探访未见到{elder}",
        "يوقلاشتا {elder} ئۆيدە يوق",
        "{elder} was not at home",
    ),
    "notice.visit.not_home_twice.family.body": (
        "上门探访连续两次未见到{elder}（{number}），请尽快与其联系。",
        "ئۆيگە بېرىپ يوقلىغاندا كەينى-كەينىدىن ئىككى قېتىم {elder} ئۇچرىمىدى ({number})، "
        "ئۇنىڭ بىلەن تېزدىن ئالاقىلىشىڭ.",
        "The last two visits found {elder} not at home ({number}); please get in touch "
        "with them soon.",
    ),
}
