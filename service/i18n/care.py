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
    # --- care plans (服务计划) and tickets for an elder ---
    "care_plan.not_found": (
        "没有服务计划 {id}。",
        "{id} نومۇرلۇق مۇلازىمەت پىلانى يوق.",
        "No care plan {id}.",
    ),
    "care_plan.may_not_edit": (
        "只有管理员、本社区网格员和养老服务机构的调度员可以制定或修改服务计划。",
        "پەقەت باشقۇرغۇچى، مەھەللە تور خادىمى ۋە ياشانغانلار مۇلازىمەت ئورگىنىنىڭ "
        "تەقسىملىگۈچىسى مۇلازىمەت پىلانى تۈزەلەيدۇ ياكى ئۆزگەرتەلەيدۇ.",
        "Only administrators, the community's grid workers and the care provider's "
        "dispatchers may make or change care plans.",
    ),
    "care_plan.elder_unknown": (
        "您不能为服务对象 {id} 制定服务计划。",
        "سىز {id} نومۇرلۇق مۇلازىمەت ئوبيېكتىغا مۇلازىمەت پىلانى تۈزەلمەيسىز.",
        "You cannot plan care for elder {id}.",
    ),
    "care_plan.category_not_plannable": (
        "{code} 不是可以按计划提供的养老服务类别（elderly.*，助急除外）。",
        "{code} پىلان بويىچە تەمىنلىگىلى بولىدىغان ياشانغانلار مۇلازىمىتى تۈرى ئەمەس "
        "(elderly.*، جىددىي ياردەمدىن باشقا).",
        "{code} is not an elderly-care category that can be planned (elderly.*, "
        "but not emergency help).",
    ),
    "care_plan.ends_before_start": (
        "结束日期不能早于开始日期",
        "ئاخىرلىشىش كۈنى باشلىنىش كۈنىدىن بۇرۇن بولسا بولمايدۇ",
        "ends_on cannot be before starts_on",
    ),
    "care_plan.rrule_invalid": (
        "不是有效的 RFC 5545 重复规则（例如 FREQ=WEEKLY;BYDAY=MO,WE,FR）；UNTIL 请写日期，"
        "或改用 ends_on",
        "ئىناۋەتلىك RFC 5545 تەكرار قائىدىسى ئەمەس (مەسىلەن FREQ=WEEKLY;BYDAY=MO,WE,FR)؛ "
        "UNTIL نى چېسلا قىلىپ يېزىڭ ياكى ends_on نى ئىشلىتىڭ",
        "not a valid RFC 5545 recurrence rule (e.g. FREQ=WEEKLY;BYDAY=MO,WE,FR); write "
        "UNTIL as a date, or use ends_on",
    ),
    "care_plan.rrule_part_unknown": (
        "重复规则不支持 {part}",
        "تەكرار قائىدىسى {part} نى قوللىمايدۇ",
        "the recurrence rule does not take {part}",
    ),
    "care_plan.rrule_too_frequent": (
        "上门服务最多每天一次：FREQ={freq} 太频繁，请用 DAILY、WEEKLY、MONTHLY 或 YEARLY",
        "ئۆيگە بېرىپ مۇلازىمەت قىلىش كۈنىگە بىر قېتىمدىن ئاشمايدۇ: FREQ={freq} بەك "
        "كۆپ، DAILY، WEEKLY، MONTHLY ياكى YEARLY نى ئىشلىتىڭ",
        "visits repeat by days at most: FREQ={freq} is too frequent; use DAILY, "
        "WEEKLY, MONTHLY or YEARLY",
    ),
    "care_plan.rrule_sets_time": (
        "重复规则不能含 {part}：上门时间由 time 指定",
        "تەكرار قائىدىسىدە {part} بولسا بولمايدۇ: ۋاقىتنى time بەلگىلەيدۇ",
        "the rule cannot hold {part}: the time of the visit is `time`",
    ),
    "care_plan.rrule_bound": (
        "{part} 须在 1 到 {limit} 之间",
        "{part} چوقۇم 1 دىن {limit} گىچە بولۇشى كېرەك",
        "{part} must be between 1 and {limit}",
    ),
    "care_plan.rrule_never_occurs": (
        "这条规则在开始日期后四年内（及结束日期前）没有任何一次服务",
        "بۇ قائىدە باشلىنىش كۈنىدىن كېيىنكى تۆت يىل ئىچىدە (ۋە ئاخىرلىشىش كۈنىدىن "
        "بۇرۇن) بىرەر قېتىممۇ مۇلازىمەت ھاسىل قىلمايدۇ",
        "the rule makes no visit within four years of starts_on (and by ends_on)",
    ),
    "ticket.elder_not_yours": (
        "您不能为服务对象 {id} 提交工单",
        "سىز {id} نومۇرلۇق مۇلازىمەت ئوبيېكتى ئۈچۈن خىزمەت بېلىتى تاپشۇرالمايسىز",
        "you cannot file for elder {id}",
    ),
    "ticket.elder_other_community": (
        "服务对象 {id} 不属于这个社区",
        "{id} نومۇرلۇق مۇلازىمەت ئوبيېكتى بۇ مەھەللىگە تەۋە ئەمەس",
        "elder {id} does not live in this community",
    ),
    "ticket.elder_needs_care_category": (
        "只有养老服务类工单（elderly.*）可以指定服务对象",
        "پەقەت ياشانغانلار مۇلازىمىتى تۈرىدىكى (elderly.*) خىزمەت بېلىتىلا مۇلازىمەت "
        "ئوبيېكتىنى بەلگىلىيەلەيدۇ",
        "only elderly-care tickets (elderly.*) may name an elder",
    ),
    "ticket.elder_unfit": (
        "服务对象不符",
        "مۇلازىمەت ئوبيېكتى ماس كەلمىدى",
        "The elder does not fit this ticket",
    ),
    "ticket.channel_not_filed": (
        "care_plan 渠道只由服务计划生成，不能提交",
        "care_plan قانىلىنى پەقەت مۇلازىمەت پىلانى ھاسىل قىلىدۇ، تاپشۇرغىلى بولمايدۇ",
        "the care_plan channel is the care plans' own; it cannot be filed",
    ),
    # Visits (care plans' tickets): check-in, check-out, 探访 outcomes.
    "visit.not_a_visit": (
        "这不是服务计划生成的上门服务，不能签到或签退。",
        "بۇ مۇلازىمەت پىلانىدىن چىققان ئۆيگە بېرىپ مۇلازىمەت ئەمەس، كىرىش ياكى چىقىش "
        "تىزىملاتقىلى بولمايدۇ.",
        "This is not a care plan's visit: there is nothing to check in to or out of.",
    ),
    "visit.not_checked_in": (
        "上门服务尚未签到，不能签退；请先签到。",
        "ئۆيگە بېرىپ مۇلازىمەتكە تېخى كىرىش تىزىملاتمىدى، چىقىشنى تىزىملاتقىلى بولمايدۇ؛ "
        "ئالدى بىلەن كىرىشنى تىزىملىتىڭ.",
        "The visit was never checked in, so it cannot be checked out: check in first.",
    ),
    "visit.outcome_required": (
        "独居老人探访须填写探访结果：well、needs_help、not_home 或 hospitalised。",
        "يالغۇز ياشانغانلارنى يوقلاشتا نەتىجىسىنى يېزىش كېرەك: well، needs_help، "
        "not_home ياكى hospitalised.",
        "A visit to an elder living alone needs its outcome: well, needs_help, not_home "
        "or hospitalised.",
    ),
    "visit.outcome_only_alone": (
        "只有独居老人探访（elderly.visit）才填写探访结果。",
        "پەقەت يالغۇز ياشانغانلارنى يوقلاش (elderly.visit) نىڭلا نەتىجىسى يېزىلىدۇ.",
        "Only a visit to an elder living alone (elderly.visit) takes an outcome.",
    ),
    "visit.follow_on_needs_help": (
        "只有探访结果为 needs_help 时才能指定后续工单类别。",
        "پەقەت نەتىجە needs_help بولغاندىلا داۋاملىق خىزمەت تالونىنىڭ تۈرىنى بەلگىلىگىلى بولىدۇ.",
        "A follow-on category goes only with the outcome needs_help.",
    ),
    "visit.follow_on_care_only": (
        "后续工单须为居家养老服务类别（elderly.*）。",
        "داۋاملىق خىزمەت تالونى ياشانغانلارنى ئائىلىدە كۈتۈش تۈرىدە (elderly.*) بولۇشى كېرەك.",
        "The follow-on ticket must be of an elderly-care category (elderly.*).",
    ),
    "visit.position_pair": (
        "纬度和经度须同时提供，或都不提供。",
        "كەڭلىك ۋە ئۇزۇنلۇق بىللە بېرىلىشى ياكى ھەر ئىككىسى بېرىلمەسلىكى كېرەك.",
        "Give latitude and longitude together, or neither.",
    ),
    "visit.follow_on_description": (
        "探访 {number} 发现老人需要帮助。",
        "{number} نومۇرلۇق يوقلاشتا ياشانغاننىڭ ياردەمگە موھتاجلىقى بايقالدى.",
        "The visit {number} found the elder needing help.",
    ),
}
