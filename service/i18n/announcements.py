"""Catalogue: announcements (service/announcements) and the texts residents are
told them in (service/notifications/announced.py). code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "announcement.not_allowed": (
        "只有管理员和小区物业公司的调度员可以发布通知。",
        "پەقەت باشقۇرغۇچى ۋە مەھەللە مۈلۈك شىركىتىنىڭ يۆتكىگۈچىسىلا ئۇقتۇرۇش ئېلان قىلالايدۇ.",
        "Only admins and the dispatchers of a community's property company may post announcements.",
    ),
    "announcement.not_found": (
        "没有通知 {id}。",
        "{id} نومۇرلۇق ئۇقتۇرۇش يوق.",
        "No announcement {id}.",
    ),
    "announcement.not_yours": (
        "只有发布此通知的物业公司的调度员，或管辖其全部小区的管理员，可以撤回它。",
        "بۇ ئۇقتۇرۇشنى پەقەت ئۇنى ئېلان قىلغان مۈلۈك شىركىتىنىڭ يۆتكىگۈچىسى ياكى ئۇنىڭ"
        " بارلىق مەھەللىلىرىنى باشقۇرىدىغان باشقۇرغۇچىلا قايتۇرۇۋالالايدۇ.",
        "Only the dispatchers of the company that posted this announcement, or an admin "
        "over all its communities, may withdraw it.",
    ),
    "announcement.communities_outside": (
        "有小区不在您可发布通知的范围内；通知未发布。",
        "بەزى مەھەللىلەر سىز ئۇقتۇرۇش ئېلان قىلالايدىغان دائىرىدە ئەمەس؛ ئۇقتۇرۇش ئېلان قىلىنمىدى.",
        "Some communities are not ones you may post to; nothing was posted.",
    ),
    "announcement.community_not_yours": (
        "您不能向小区 {id} 发布通知",
        "{id} نومۇرلۇق مەھەللىگە ئۇقتۇرۇش ئېلان قىلالمايسىز",
        "you may not post to community {id}",
    ),
    "announcement.already_over": (
        "结束时间已过",
        "ئاخىرلىشىش ۋاقتى ئۆتۈپ كەتتى",
        "it is over already",
    ),
    "announcement.ends_before_start": (
        "`ends_at` 须晚于 `starts_at`",
        "`ends_at` چوقۇم `starts_at` دىن كېيىن بولۇشى كېرەك",
        "`ends_at` must be after `starts_at`",
    ),
    "announcement.too_long": (
        "通知最长持续 {days} 天",
        "ئۇقتۇرۇش ئەڭ كۆپ بولغاندا {days} كۈن داۋاملىشىدۇ",
        "an announcement runs at most {days} days",
    ),
    # The inbox's and the messages' texts: the author's title and body, framed.
    "notice.announcement.title": ("【{kind}】{title}", "【{kind}】{title}", "[{kind}] {title}"),
    "notice.announcement.body": ("{body}（{window}）", "{body} ({window})", "{body} ({window})"),
    "notice.announcement.window": (
        "{starts} 至 {ends}",
        "{starts} دىن {ends} غىچە",
        "{starts} to {ends}",
    ),
    "notice.announcement.withdrawn.title": (
        "已撤回：{title}",
        "قايتۇرۇۋېلىندى: {title}",
        "Withdrawn: {title}",
    ),
    "notice.announcement.withdrawn.body": (
        "此通知已撤回。",
        "بۇ ئۇقتۇرۇش قايتۇرۇۋېلىندى.",
        "This announcement has been withdrawn.",
    ),
}
