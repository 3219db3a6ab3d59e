"""Catalogue: dispatch (staff, on duty, deactivation, dispatch modes).
code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "auth.deactivated": (
        "您的账号已被停用，请联系本单位调度员或管理员。",
        "ھېساباتىڭىز توختىتىلدى، ئورگىنىڭىزنىڭ تەقسىملىگۈچىسى ياكى باشقۇرغۇچىسى بىلەن ئالاقىلىشىڭ.",
        "Your account has been deactivated; ask your organisation's dispatcher or an administrator.",
    ),
    "staff.forbidden": (
        "只有本单位的调度员和管理员可以查看和管理其员工。",
        "خادىملارنى پەقەت ئورگاننىڭ تەقسىملىگۈچىلىرى ۋە باشقۇرغۇچىلار كۆرەلەيدۇ ۋە باشقۇرالايدۇ.",
        "Only the organisation's dispatchers and administrators see and manage its staff.",
    ),
    "staff.not_found": (
        "本单位没有员工 {id}。",
        "بۇ ئورگاندا {id} نومۇرلۇق خادىم يوق.",
        "No staff member {id} in this organisation.",
    ),
    "staff.technicians_only": (
        "只有技师有值班状态。",
        "پەقەت تېخنىكلارنىڭلا نۆۋەتچىلىك ھالىتى بار.",
        "Only technicians go on and off duty.",
    ),
    "staff.unfit": (
        "员工信息未修改。",
        "خادىم ئۇچۇرى ئۆزگەرتىلمىدى.",
        "The staff member was not changed.",
    ),
    "staff.not_yourself": (
        "不能停用自己的账号。",
        "ئۆزىڭىزنىڭ ھېساباتىنى توختىتالمايسىز.",
        "You cannot deactivate yourself.",
    ),
    "dispatch.unfit": (
        "派单方式未保存。",
        "ئەۋەتىش ئۇسۇلى ساقلانمىدى.",
        "The dispatch modes were not saved.",
    ),
    "dispatch.category_unknown": (
        "没有以 {prefix} 开头的类别。",
        "{prefix} بىلەن باشلىنىدىغان تۈر يوق.",
        "No category is {prefix} or under it.",
    ),
    "dispatch.category_twice": (
        "类别 {prefix} 出现了两次。",
        "{prefix} تۈرى ئىككى قېتىم يېزىلدى.",
        "The category {prefix} is listed twice.",
    ),
}
