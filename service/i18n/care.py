"""Catalogue: elders (服务对象), their consent, proxies and access log.
code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "title.elder_erased": (
        "服务对象信息已删除",
        "مۇلازىمەت ئوبيېكتىنىڭ ئۇچۇرى ئۆچۈرۈلدى",
        "Elder erased",
    ),
    "elder.not_found": (
        "没有服务对象 {id}。",
        "{id} نومۇرلۇق مۇلازىمەت ئوبيېكتى يوق.",
        "No elder {id}.",
    ),
    "elder.erased": (
        "服务对象 {id} 的个人信息已按要求删除，无法再查看或修改。",
        "{id} نومۇرلۇق مۇلازىمەت ئوبيېكتىنىڭ شەخسىي ئۇچۇرى تەلەپ بويىچە ئۆچۈرۈلدى، "
        "ئەمدى كۆرگىلى ياكى ئۆزگەرتكىلى بولمايدۇ.",
        "The personal data of elder {id} was erased; it can no longer be read or changed.",
    ),
    "elder.may_not_edit": (
        "只有管理员、本社区网格员和养老服务机构的调度员可以登记或修改服务对象。",
        "پەقەت باشقۇرغۇچى، مەھەللە تور خادىمى ۋە ياشانغانلار مۇلازىمەت ئورگىنىنىڭ "
        "تەقسىملىگۈچىسى مۇلازىمەت ئوبيېكتىنى تىزىملىيالايدۇ ياكى ئۆزگەرتەلەيدۇ.",
        "Only administrators, the community's grid workers and the care provider's "
        "dispatchers may register or change elders.",
    ),
    "elder.may_not_erase": (
        "只有管理员和本社区网格员可以删除服务对象的个人信息。",
        "پەقەت باشقۇرغۇچى ۋە مەھەللە تور خادىمى مۇلازىمەت ئوبيېكتىنىڭ شەخسىي ئۇچۇرىنى ئۆچۈرەلەيدۇ.",
        "Only administrators and the community's grid workers may erase an elder.",
    ),
    "elder.may_not_manage_proxies": (
        "只有管理员和本社区网格员可以登记家属代理人。",
        "پەقەت باشقۇرغۇچى ۋە مەھەللە تور خادىمى ئائىلە ۋاكالەتچىسىنى تىزىملىيالايدۇ.",
        "Only administrators and the community's grid workers manage family proxies.",
    ),
    "elder.may_not_read_access_log": (
        "只有管理员和服务对象的家属代理人可以查看访问记录。",
        "پەقەت باشقۇرغۇچى ۋە مۇلازىمەت ئوبيېكتىنىڭ ئائىلە ۋاكالەتچىسى زىيارەت خاتىرىسىنى كۆرەلەيدۇ.",
        "Only administrators and the elder's family proxies may read the access log.",
    ),
    "elder.community_not_yours": (
        "您不能在社区 {id} 登记服务对象。",
        "سىز {id} نومۇرلۇق مەھەللىدە مۇلازىمەت ئوبيېكتى تىزىملىيالمايسىز.",
        "You cannot register elders in community {id}.",
    ),
    "elder.consent_required": (
        "保存敏感个人信息（{fields}）须有本人或监护人的同意，请填写 consent；未做任何修改。",
        "سەزگۈر شەخسىي ئۇچۇر ({fields}) نى ساقلاش ئۈچۈن ئۆزى ياكى ۋەسىيسىنىڭ قوشۇلۇشى "
        "كېرەك، consent نى تولدۇرۇڭ؛ ھېچ نەرسە ئۆزگەرتىلمىدى.",
        "Sensitive personal information ({fields}) is kept only with the consent of the "
        "elder or a guardian: give `consent`. Nothing was changed.",
    ),
    "elder.consent_in_future": (
        "同意时间不能晚于现在",
        "قوشۇلغان ۋاقىت ھازىردىن كېيىن بولسا بولمايدۇ",
        "the consent cannot be given in the future",
    ),
    "elder.birth_year_future": (
        "出生年份不能晚于今年",
        "تۇغۇلغان يىل بۇ يىلدىن كېيىن بولسا بولمايدۇ",
        "the birth year cannot be after this year",
    ),
    "elder.proxy_whom": (
        "请提供 user_id 或 phone 其中之一。",
        "user_id ياكى phone نىڭ بىرىنى بېرىڭ.",
        "Give either user_id or phone, not both.",
    ),
    "elder.proxy_unknown": (
        "找不到这位居民；家属须先登录过一次邻里。",
        "بۇ ئاھالە تېپىلمىدى؛ ئائىلە ئەزاسى ئاۋۋال Linli غا بىر قېتىم كىرگەن بولۇشى كېرەك.",
        "No such resident; the family member must have signed in to Linli once.",
    ),
    "elder.proxy_ambiguous": (
        "有多位居民使用这个电话号码，请改用 user_id。",
        "بۇ تېلېفون نومۇرىنى بىر قانچە ئاھالە ئىشلىتىدۇ، user_id نى ئىشلىتىڭ.",
        "Several residents have this phone; name the one by user_id.",
    ),
    "elder.proxy_not_found": (
        "用户 {id} 不是该服务对象的代理人。",
        "{id} نومۇرلۇق ئىشلەتكۈچى بۇ مۇلازىمەت ئوبيېكتىنىڭ ۋاكالەتچىسى ئەمەس.",
        "User {id} is not a proxy of this elder.",
    ),
}
