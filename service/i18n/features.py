"""Catalogue: the features' problems (tickets, directory, categories, SLA,
metrics, webhooks, feed, follow-ups, API keys, dashboard).
code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    # --- tickets ---
    "ticket.not_found": ("没有工单 {id}。", "{id} نومۇرلۇق خىزمەت بېلىتى يوق.", "No ticket {id}."),
    "ticket.action_not_allowed": (
        "您的角色不能对此工单执行 {action}。",
        "رولىڭىز بۇ خىزمەت بېلىتىدە {action} مەشغۇلاتىنى قىلالمايدۇ.",
        "Your role may not {action} this ticket.",
    ),
    "ticket.action_not_in_status": (
        "处于 {status} 状态的工单不能执行 {action}。",
        "{status} ھالىتىدىكى خىزمەت بېلىتىدە {action} مەشغۇلاتىنى قىلغىلى بولمايدۇ.",
        "A ticket in status {status} cannot be {action}ed.",
    ),
    "ticket.version_conflict": (
        "您读取后工单已有变化（当前为 {etag}），请刷新后重试。",
        "سىز ئوقۇغاندىن كېيىن خىزمەت بېلىتى ئۆزگەرگەن (ھازىر {etag})، يېڭىلاپ قايتا سىناڭ.",
        "The ticket changed since you read it (now {etag}); reload and retry.",
    ),
    "ticket.concurrent_update": (
        "他人刚修改了此工单，请刷新后重试。",
        "باشقىلار بۇ خىزمەت بېلىتىنى ھازىرلا ئۆزگەرتتى، يېڭىلاپ قايتا سىناڭ.",
        "Someone else changed this ticket; reload it and try again.",
    ),
    "ticket.reopen_window_passed": (
        "此工单已过可重新打开的期限。",
        "بۇ خىزمەت بېلىتىنى قايتا ئېچىش مۆھلىتى ئۆتۈپ كەتتى.",
        "The reopen window of this ticket has passed.",
    ),
    "ticket.name_organization": ("请指定单位。", "ئورگاننى بەلگىلەڭ.", "Name the organisation."),
    "ticket.organization_required": (
        "管理员必填",
        "باشقۇرغۇچى چوقۇم تولدۇرىدۇ",
        "required for admins",
    ),
    "ticket.goes_to_kind": (
        "{kind} 类工单应派给 {organization_kind}。",
        "{kind} تۈرىدىكى خىزمەت بېلىتى {organization_kind} غا تەقسىملىنىدۇ.",
        "A {kind} ticket goes to a {organization_kind}.",
    ),
    "ticket.assign_own_organization": (
        "调度员只能在本单位内派单。",
        "تەقسىملىگۈچى پەقەت ئۆز ئورگىنى ئىچىدە تەقسىملىيەلەيدۇ.",
        "Dispatchers assign within their own organisation.",
    ),
    "ticket.unknown_technician": ("没有这名维修人员。", "بۇنداق ئۇستا يوق.", "Unknown technician."),
    "ticket.not_staff_of_organization": (
        "不是该单位的员工",
        "بۇ ئورگاننىڭ خادىمى ئەمەس",
        "not staff of that organisation",
    ),
    "ticket.assign_whom": (
        "请提供 organization_id、assignee_id 或两者",
        "organization_id ياكى assignee_id نى ياكى ھەر ئىككىسىنى بېرىڭ",
        "give organization_id, assignee_id or both",
    ),
    "ticket.duplicate_of_itself": (
        "工单不能与自身重复。",
        "خىزمەت بېلىتى ئۆزى بىلەن تەكرارلانمايدۇ.",
        "A ticket cannot duplicate itself.",
    ),
    "ticket.same_ticket": ("同一张工单", "ئوخشاش خىزمەت بېلىتى", "same ticket"),
    "ticket.reclassify_not_allowed": (
        "只有管理员或该单位的调度员可以重新分类。",
        "پەقەت باشقۇرغۇچى ياكى ئورگاننىڭ تەقسىملىگۈچىسى قايتا تۈرگە ئايرىيالايدۇ.",
        "Only an administrator or the organisation's dispatcher may reclassify.",
    ),
    "ticket.reclassify_status": (
        "处于 {status} 状态的工单不能再改分类。",
        "{status} ھالىتىدىكى خىزمەت بېلىتىنىڭ تۈرىنى ئۆزگەرتكىلى بولمايدۇ.",
        "A ticket in status {status} keeps its classification.",
    ),
    "ticket.reclassify_empty": (
        "请说明要改什么。",
        "نېمىنى ئۆزگەرتىدىغانلىقىنى ئېيتىڭ.",
        "Say what changes.",
    ),
    "ticket.priority_or_category": (
        "请提供优先级或分类",
        "ئالدىنلىق دەرىجىسى ياكى تۈرنى بېرىڭ",
        "give a priority or a category",
    ),
    "ticket.kind_stays": (
        "{kind} 类工单不能改为其他类型；其他事项请另行提交。",
        "{kind} تۈرىدىكى خىزمەت بېلىتى شۇ تۈردە قالىدۇ؛ باشقا ئىش ئۈچۈن يېڭىسىنى تاپشۇرۇڭ.",
        "A {kind} ticket stays {kind}; file a new one for other work.",
    ),
    "ticket.category_of_kind": (
        "不是 {kind} 类的分类",
        "{kind} تۈرىگە تەۋە تۈر ئەمەس",
        "not a {kind} category",
    ),
    "ticket.reclassify_unchanged": ("没有任何变化。", "ھېچنېمە ئۆزگەرمىدى.", "Nothing changes."),
    "ticket.classified_so_already": (
        "工单已是这样分类的",
        "خىزمەت بېلىتى ئاللىبۇرۇن شۇنداق تۈرگە ئايرىلغان",
        "the ticket is classified so already",
    ),
    "ticket.internal_notes_staff_only": (
        "只有工作人员和管理员可以写内部备注。",
        "ئىچكى ئىزاھاتنى پەقەت خادىملار ۋە باشقۇرغۇچىلار يازالايدۇ.",
        "Only staff and administrators write internal notes.",
    ),
    "ticket.urge_too_soon": (
        "这张工单刚催过，每 {minutes} 分钟只能催一次。请 {seconds} 秒后再催。",
        "بۇ خىزمەت بېلىتى يېقىندا ئالدىرىتىلدى، ھەر {minutes} مىنۇتتا بىر قېتىملا "
        "ئالدىرىتقىلى بولىدۇ. {seconds} سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "This ticket can be urged once in {minutes} minutes; nothing was done. "
        "Retry after {seconds} seconds.",
    ),
    "ratelimit.tickets": (
        "每 {minutes} 分钟最多提交 {limit} 张工单，本次未提交。请 {seconds} 秒后重试。",
        "ھەر {minutes} مىنۇتتا ئەڭ كۆپ {limit} خىزمەت بېلىتى تاپشۇرغىلى بولىدۇ، بۇ "
        "بېلەت تاپشۇرۇلمىدى. {seconds} سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "At most {limit} new tickets in {minutes} minutes; nothing was filed. "
        "Retry after {seconds} seconds.",
    ),
    "ratelimit.uploads": (
        "每 {minutes} 分钟最多上传 {limit} 张照片，本张未保存。请 {seconds} 秒后重试。",
        "ھەر {minutes} مىنۇتتا ئەڭ كۆپ {limit} پارچە رەسىم يوللىغىلى بولىدۇ، بۇ رەسىم "
        "ساقلانمىدى. {seconds} سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "At most {limit} photos in {minutes} minutes; this one was not kept. "
        "Retry after {seconds} seconds.",
    ),
    "ratelimit.requests": (
        "每 {minutes} 分钟最多 {limit} 次请求，本次未执行。请 {seconds} 秒后重试。",
        "ھەر {minutes} مىنۇتتا ئەڭ كۆپ {limit} قېتىم ئىلتىماس قىلغىلى بولىدۇ، بۇ "
        "قېتىم ئىجرا قىلىنمىدى. {seconds} سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "At most {limit} requests in {minutes} minutes; nothing was done. "
        "Retry after {seconds} seconds.",
    ),
    "ticket.comments_per_hour": (
        "每张工单每小时最多 {limit} 条留言，本条未添加。",
        "بىر خىزمەت بېلىتىگە بىر سائەتتە ئەڭ كۆپ {limit} ئىنكاس يازغىلى بولىدۇ، بۇ ئىنكاس قوشۇلمىدى.",
        "At most {limit} comments an hour on one ticket; nothing was added.",
    ),
    "ticket.residents_file_for_themselves": (
        "居民只能为自己提交工单。",
        "ئاھالىلەر پەقەت ئۆزى ئۈچۈن تاپشۇرىدۇ.",
        "Residents file for themselves.",
    ),
    "ticket.on_behalf_staff_only": (
        "仅限工作人员和网格员",
        "پەقەت خادىملار ۋە تور كاتەكچە خادىملىرى",
        "only staff and grid workers",
    ),
    "ticket.say_for_whom": (
        "请说明为谁提交。",
        "كىم ئۈچۈن تاپشۇرۇلغانلىقىنى ئېيتىڭ.",
        "Say whom the ticket is for.",
    ),
    "ticket.on_behalf_required": (
        "代他人提交时必填",
        "باشقىلار ئۈچۈن تاپشۇرغاندا چوقۇم تولدۇرىدۇ",
        "required when filing for someone",
    ),
    "ticket.times_out_of_range": (
        "时间须在 2001-2099 年之间。",
        "ۋاقىت 2001-2099 يىللىرى ئارىلىقىدا بولۇشى كېرەك.",
        "Times outside 2001-2099.",
    ),
    "ticket.never_filed_then": (
        "那时没有、也不会有工单",
        "ئۇ ۋاقىتتا خىزمەت بېلىتى تاپشۇرۇلمىغان ۋە تاپشۇرۇلمايدۇ",
        "no ticket was or will be filed then",
    ),
    "ticket.search_unusable": (
        "无法按此内容搜索。",
        "بۇ مەزمۇن بويىچە ئىزدىگىلى بولمايدۇ.",
        "Nothing to search by.",
    ),
    "ticket.search_no_words": (
        "请输入至少一个汉字、字母或数字",
        "كەم دېگەندە بىر خەت، ھەرپ ياكى سان كىرگۈزۈڭ",
        "give at least one character, letter or digit",
    ),
    "ticket.search_too_long": (
        "最多 {max} 个字符",
        "ئەڭ كۆپ بولغاندا {max} ھەرپ",
        "at most {max} characters",
    ),
    "follow_up.not_allowed": (
        "回访由服务单位或主管部门记录。",
        "قايتا زىيارەتنى مۇلازىمەت ئورگىنى ياكى تارماق خاتىرىلەيدۇ.",
        "Follow-up visits are recorded by the provider or the department.",
    ),
    "follow_up.not_resolved": (
        "工单办结后才能回访。",
        "قايتا زىيارەت خىزمەت بېلىتى ھەل قىلىنغاندىن كېيىن بولىدۇ.",
        "Follow-up visits come after the ticket is resolved.",
    ),
    "follow_up.list_forbidden": (
        "回访列表仅供服务单位和管理员查看。",
        "قايتا زىيارەت تىزىملىكى پەقەت مۇلازىمەت ئورگانلىرى ۋە باشقۇرغۇچىلار ئۈچۈن.",
        "Follow-up lists are for providers and administrators.",
    ),
    # --- directory ---
    "region.not_found": ("没有区域 {id}。", "{id} نومۇرلۇق رايون يوق.", "No region {id}."),
    "community.not_found": ("没有社区 {id}。", "{id} نومۇرلۇق مەھەللە يوق.", "No community {id}."),
    "organization.not_found": (
        "没有单位 {id}。",
        "{id} نومۇرلۇق ئورگان يوق.",
        "No organization {id}.",
    ),
    "region.not_in_scope": (
        "您的管辖范围内没有区域 {id}",
        "باشقۇرۇش دائىرىڭىزدە {id} نومۇرلۇق رايون يوق",
        "no region {id} in your scope",
    ),
    "organization.not_in_scope": (
        "您的管辖范围内没有单位 {id}",
        "باشقۇرۇش دائىرىڭىزدە {id} نومۇرلۇق ئورگان يوق",
        "no organization {id} in your scope",
    ),
    "region.parent_needed": (
        "{level} 级区域需要一个 {parent} 级上级区域",
        "{level} دەرىجىلىك رايونغا {parent} دەرىجىلىك يۇقىرى رايون كېرەك",
        "a {level} needs a {parent} parent",
    ),
    "region.inside_own": (
        "区域管理员只能在本辖区内创建区域",
        "رايون باشقۇرغۇچىلىرى پەقەت ئۆز رايونى ئىچىدە رايون قۇرالايدۇ",
        "regional admins create regions inside their own",
    ),
    "region.parent_level": (
        "{level} 级区域应隶属于 {parent} 级区域",
        "{level} دەرىجىلىك رايون {parent} دەرىجىلىك رايونغا قارايدۇ",
        "a {level} sits under a {parent}",
    ),
    "region.no_province": (
        "请先创建省级区域",
        "ئاۋۋال ئۆلكە دەرىجىلىك رايون قۇرۇڭ",
        "create the province region first",
    ),
    "region.several_provinces": (
        "本系统有多个省级区域，请指明是哪一个",
        "بۇ سىستېمىدا بىر نەچچە ئۆلكە بار، قايسىسى ئىكەنلىكىنى ئېيتىڭ",
        "this deployment has several provinces: say which one",
    ),
    "community.county_only": (
        "社区隶属于县级区域",
        "مەھەللە ناھىيە دەرىجىلىك رايونغا تەۋە بولىدۇ",
        "communities belong to a county-level region",
    ),
    "community.has_history": (
        "已有工单的社区不能改换区域：其服务记录统计在原区域。请在新区域重新登记该社区。",
        "خىزمەت بېلىتى بار مەھەللە رايونىنى ئۆزگەرتەلمەيدۇ: مۇلازىمەت تارىخى شۇ رايوندا ھېسابلىنىدۇ. مەھەللىنى يېڭى رايوندا قايتا تىزىملىتىڭ.",
        "A community with tickets stays in its region: its service history is "
        "counted there. Register the community again in the other region instead.",
    ),
    "organization.credit_code_taken": (
        "已有单位使用此统一社会信用代码。",
        "بۇ ئىناۋەت كودى بىلەن تىزىملانغان ئورگان بار.",
        "An organisation with this credit code exists.",
    ),
    "organization.wrong_kind": (
        "{kind} 服务由 {organization_kind} 承担",
        "{kind} مۇلازىمىتىنى {organization_kind} ئۈستىگە ئالىدۇ",
        "{kind} work is done by a {organization_kind}",
    ),
    "organization.unknown": ("没有这个单位。", "بۇنداق ئورگان يوق.", "Unknown organisation."),
    "organization.no_such": ("没有这个单位", "بۇنداق ئورگان يوق", "no such organisation"),
    "organization.wrong_kind_short": (
        "单位类型不符",
        "ئورگان تىپى ماس كەلمەيدۇ",
        "wrong kind of organisation",
    ),
    "assignment.since_too_early": (
        "现有服务单位自 {since} 起服务",
        "ھازىرقى مۇلازىمەت ئورگىنى {since} دىن باشلاپ مۇلازىمەت قىلىۋاتىدۇ",
        "the current provider serves since {since}",
    ),
    "api_key.not_found": (
        "没有 API 密钥 {id}。",
        "{id} نومۇرلۇق API ئاچقۇچى يوق.",
        "No API key {id}.",
    ),
    "api_key.forbidden": (
        "只有本单位的调度员和管理员可以管理其密钥。",
        "ئاچقۇچلارنى پەقەت ئورگاننىڭ تەقسىملىگۈچىلىرى ۋە باشقۇرغۇچىلار باشقۇرالايدۇ.",
        "Only the organisation's dispatchers and administrators manage its keys.",
    ),
    # --- categories ---
    "category.not_found": ("没有分类 {code}。", "{code} تۈرى يوق.", "No category {code}."),
    "category.unknown": ("没有分类 {code}", "{code} تۈرى يوق", "no category {code}"),
    "category.not_active": (
        "没有启用中的分类 {code}",
        "ئىشلىتىلىۋاتقان {code} تۈرى يوق",
        "no active category {code}",
    ),
    "category.exists": (
        "分类 {code} 已存在。",
        "{code} تۈرى ئاللىبۇرۇن بار.",
        "Category {code} exists.",
    ),
    "category.no_parent": (
        "上级分类不存在。",
        "يۇقىرى تۈر مەۋجۇت ئەمەس.",
        "The parent category does not exist.",
    ),
    "category.create_parent_first": (
        "请先创建上级分类",
        "ئاۋۋال يۇقىرى تۈرنى قۇرۇڭ",
        "create the parent code first",
    ),
    "category.parent_kind": (
        "分类与其上级分类类型相同。",
        "تۈرنىڭ تىپى يۇقىرى تۈرنىڭكى بىلەن ئوخشاش بولىدۇ.",
        "A category has its parent's kind.",
    ),
    "category.parent_is": ("上级分类为 {kind}", "يۇقىرى تۈر {kind}", "parent is {kind}"),
    "category.edit_forbidden": (
        "只有全省范围的管理员可以编辑分类。",
        "تۈرلەرنى پەقەت پۈتۈن ئۆلكە دائىرىسىدىكى باشقۇرغۇچىلار تەھرىرلىيەلەيدۇ.",
        "Only province-wide administrators edit categories.",
    ),
    # --- SLA ---
    "sla.edit_forbidden": (
        "只有全系统的管理员可以编辑时限策略和工作日历。",
        "SLA سىياسىتى ۋە كالېندارنى پەقەت پۈتۈن سىستېمىنىڭ باشقۇرغۇچىلىرى تەھرىرلىيەلەيدۇ.",
        "Only administrators of the whole deployment edit SLA policies and calendars.",
    ),
    "sla.read_forbidden": (
        "时限配置仅供管理员和服务单位查看。",
        "SLA تەڭشىكى پەقەت باشقۇرغۇچىلار ۋە مۇلازىمەت ئورگانلىرى ئۈچۈن.",
        "SLA configuration is for administrators and providers.",
    ),
    "sla.escalations_forbidden": (
        "督办记录仅供管理员和服务单位查看。",
        "نازارەت خاتىرىلىرى پەقەت باشقۇرغۇچىلار ۋە مۇلازىمەت ئورگانلىرى ئۈچۈن.",
        "Escalations are for administrators and providers.",
    ),
    "sla_policy.not_found": (
        "没有时限策略 {id}。",
        "{id} نومۇرلۇق SLA سىياسىتى يوق.",
        "No SLA policy {id}.",
    ),
    "sla_policy.overlaps": (
        "策略 {id} 已覆盖相同的工单，请直接编辑它。",
        "{id} نومۇرلۇق سىياسەت ئوخشاش خىزمەت بېلىتلىرىنى ئۆز ئىچىگە ئالىدۇ، شۇنى تەھرىرلەڭ.",
        "Policy {id} already covers the same tickets; edit it instead.",
    ),
    "sla_policy.no_target": (
        "策略至少要设定一项时限",
        "سىياسەتتە ئاز دېگەندە بىر ۋاقىت چېكى بولۇشى كېرەك",
        "a policy sets at least one target",
    ),
    "calendar.not_found": (
        "没有工作日历 {id}。",
        "{id} نومۇرلۇق كالېندار يوق.",
        "No calendar {id}.",
    ),
    "calendar.no_such": ("没有工作日历 {id}", "{id} نومۇرلۇق كالېندار يوق", "no calendar {id}"),
    "calendar.exists": (
        "代码为 {code} 的日历已存在。",
        "{code} كودلۇق كالېندار ئاللىبۇرۇن بار.",
        "A calendar with code {code} exists.",
    ),
    "calendar.day_race": (
        "他人同时设置了这一天，请重试。",
        "باشقىلار بۇ كۈننى بىرلا ۋاقىتتا تەڭشىدى، قايتا سىناڭ.",
        "Someone else set this date at the same time; try again.",
    ),
    "calendar.no_override": (
        "日历 {calendar} 中没有 {day} 的调整。",
        "{calendar} كالېندارىدا {day} كۈنىنىڭ تەڭشىكى يوق.",
        "No override for {day} in calendar {calendar}.",
    ),
    "calendar.no_working_hours": (
        "日历至少要有一个工作日有工作时间",
        "كالېنداردا ئاز دېگەندە بىر ئىش كۈنىدە ئىش ۋاقتى بولۇشى كېرەك",
        "a calendar needs working hours on at least one weekday",
    ),
    "calendar.day_off_hours": (
        "休息日没有工作时间",
        "دەم ئېلىش كۈنىدە ئىش ۋاقتى بولمايدۇ",
        "a day off has no hours",
    ),
    "calendar.working_day_hours": (
        "工作日需要工作时间（省略则按周一）",
        "ئىش كۈنىگە ئىش ۋاقتى كېرەك (يېزىلمىسا دۈشەنبىنىڭكى ئىشلىتىلىدۇ)",
        "a working day needs hours (or leave them out for a Monday's)",
    ),
    "calendar.at_most_a_year": (
        "每次最多一年",
        "بىر قېتىمدا ئەڭ كۆپ بىر يىل",
        "at most a year at a time",
    ),
    "calendar.span_outside_day": (
        "时段 {span} 不在一天之内",
        "{span} ۋاقىت بۆلىكى بىر كۈن ئىچىدە ئەمەس",
        "span {span} is not inside a day",
    ),
    "calendar.spans_overlap": ("时段重叠", "ۋاقىت بۆلەكلىرى بىر-بىرىنى قاپلايدۇ", "spans overlap"),
    # --- metrics ---
    "metrics.forbidden": (
        "统计指标仅供住房管理部门和服务单位查看。",
        "كۆرسەتكۈچلەر پەقەت تۇرالغۇ باشقۇرۇش تارمىقى ۋە مۇلازىمەت ئورگانلىرى ئۈچۈن.",
        "Metrics are for the housing department and providers.",
    ),
    "metrics.action_forbidden": (
        "只有省级管理员可以设定行动目标。",
        "ھەرىكەت نىشانلىرىنى پەقەت ئۆلكە باشقۇرغۇچىلىرى بەلگىلىيەلەيدۇ.",
        "Only the province's administrators set the action's targets.",
    ),
    "metrics.unknown_group": (
        "未知分组 {group}；可用：{groups}",
        "نامەلۇم گۇرۇپپا {group}؛ ئىشلەتكىلى بولىدىغانلىرى: {groups}",
        "unknown group {group}; use {groups}",
    ),
    "metrics.too_many_months": (
        "最多 {limit} 个月",
        "ئەڭ كۆپ {limit} ئاي",
        "at most {limit} months",
    ),
    "metrics.too_many_quarters": (
        "最多 {limit} 个季度",
        "ئەڭ كۆپ {limit} پەسىل",
        "at most {limit} quarters",
    ),
    "metrics.too_many_rows": (
        "{rows} 个分组超过单次可返回的上限（{limit}）：请减少分组维度或缩小范围（region_id、community_id、organization_id、kind、category、更短的时段）。",
        "{rows} گۇرۇپپا بىر قېتىملىق جاۋابنىڭ چېكىدىن ({limit}) ئېشىپ كەتتى: گۇرۇپپا ئۆلچىمىنى ئازايتىڭ ياكى دائىرىنى تارايتىڭ (region_id، community_id، organization_id، kind، category، قىسقىراق ۋاقىت).",
        "{rows} groups is more than one answer holds ({limit}): group by fewer dimensions or "
        "narrow it down (region_id, community_id, organization_id, kind, category, a shorter period).",
    ),
    "metrics.too_many_groups": ("分组过多", "گۇرۇپپا بەك كۆپ", "too many groups"),
    "metrics.bad_targets": ("目标有误。", "نىشانلار خاتا.", "Bad targets."),
    "metrics.no_indicator": ("没有这个指标", "بۇنداق كۆرسەتكۈچ يوق", "no such indicator"),
    "metrics.too_many_years": (
        "年数多于行动期限",
        "يىل سانى ھەرىكەت مۇددىتىدىن كۆپ",
        "more years than the action",
    ),
    "metrics.rate_range": (
        "比率在 [0, 1] 之间",
        "نىسبەت [0, 1] ئارىلىقىدا بولىدۇ",
        "a rate is within [0, 1]",
    ),
    "metrics.negative_target": ("目标不能为负", "نىشان مەنپىي بولمايدۇ", "negative target"),
    "metrics.black_above_red": (
        "黑榜分数线须低于红榜。",
        "قارا تىزىملىك نومۇرى قىزىل تىزىملىكتىن تۆۋەن بولۇشى كېرەك.",
        "The black list must lie below the red list.",
    ),
    "metrics.above_red_list": (
        "高于 red_list_min_score",
        "red_list_min_score دىن يۇقىرى",
        "above red_list_min_score",
    ),
    # --- webhooks and the feed ---
    "webhook.forbidden": (
        "Webhook 由服务单位的调度员管理。",
        "Webhook لارنى مۇلازىمەت ئورگىنىنىڭ تەقسىملىگۈچىلىرى باشقۇرىدۇ.",
        "Webhooks are managed by a provider organisation's dispatchers.",
    ),
    "webhook.not_found": ("没有 webhook {id}。", "{id} نومۇرلۇق webhook يوق.", "No webhook {id}."),
    "webhook.too_many": (
        "本单位已有 {count} 个 webhook，已达上限；请先删除不再使用的。",
        "بۇ ئورگاندا {count} webhook بار، بۇ ئەڭ يۇقىرى چەك؛ ئاۋۋال ئىشلىتىلمەيدىغىنىنى ئۆچۈرۈڭ.",
        "This organisation has {count} webhooks, the most it may have; "
        "delete one it no longer uses first.",
    ),
    "webhook.url_refused": (
        "不允许使用此 webhook 地址。",
        "بۇ webhook ئادرېسىغا يول قويۇلمايدۇ.",
        "This webhook URL is not allowed.",
    ),
    "webhook.url_characters": (
        "不能含空格、控制字符或非 ASCII 字符（国际化域名请写成 punycode，xn--...）",
        "بوشلۇق، كونترول ياكى ASCII بولمىغان ھەرپ بولمىسۇن (خەلقئارالىق دومېن نامىنى punycode بىلەن يېزىڭ، xn--...)",
        "no spaces, control or non-ASCII characters (write an international host "
        "name in punycode, xn--...)",
    ),
    "webhook.url_shape": (
        "须为带主机名的 http:// 或 https:// 地址",
        "ساھىبخانا نامى بار http:// ياكى https:// ئادرېسى بولۇشى كېرەك",
        "an http:// or https:// URL with a host",
    ),
    "webhook.url_credentials": (
        "地址中不能有用户名或密码",
        "ئادرېستا ئىشلەتكۈچى نامى ياكى پارول بولمىسۇن",
        "no user name or password in the URL",
    ),
    "webhook.url_port": ("端口无效", "پورت ئىناۋەتسىز", "not a valid port"),
    "webhook.url_ipv4": (
        "IPv4 地址请写成点分十进制（a.b.c.d）",
        "IPv4 ئادرېسىنى چېكىتلىك ئونلۇق شەكىلدە يېزىڭ (a.b.c.d)",
        "write an IPv4 address in dotted decimal (a.b.c.d)",
    ),
    "webhook.url_host": ("主机名无效", "ساھىبخانا نامى ئىناۋەتسىز", "not a valid host name"),
    "webhook.url_https": (
        "只能用 https://（推送内容含居民联系方式）",
        "پەقەت https:// (ئەۋەتىلىدىغان مەزمۇندا ئاھالىلەرنىڭ ئالاقە ئۇچۇرى بار)",
        "https:// only (payloads carry residents' contact details)",
    ),
    "webhook.url_loopback": (
        "不允许回环地址",
        "ئايلانما ئادرېسقا يول قويۇلمايدۇ",
        "loopback targets are not allowed",
    ),
    "webhook.url_private": (
        "不允许私有、回环和链路本地地址",
        "شەخسىي، ئايلانما ۋە ئۇلىنىش يەرلىك ئادرېسلىرىغا يول قويۇلمايدۇ",
        "private, loopback and link-local addresses are not allowed",
    ),
    "webhook.url_unresolved": (
        "无法解析 {host}：{reason}",
        "{host} نى تاپقىلى بولمىدى: {reason}",
        "cannot resolve {host}: {reason}",
    ),
    "webhook.url_resolves_private": (
        "{host} 解析到不允许的地址",
        "{host} يول قويۇلمايدىغان ئادرېسقا قارىتىلغان",
        "{host} resolves to an address that is not allowed",
    ),
    "delivery.not_found": (
        "没有投递记录 {id}。",
        "{id} نومۇرلۇق يەتكۈزۈش خاتىرىسى يوق.",
        "No delivery {id}.",
    ),
    "delivery.still_queued": (
        "此投递仍在队列中，会自动重试。",
        "بۇ يەتكۈزۈش تېخى ئۆچرەتتە، ئۆزلۈكىدىن قايتا سىنىلىدۇ.",
        "This delivery is still queued; it will be attempted again by itself.",
    ),
    "delivery.race": (
        "他人刚刚重新排队了此投递。",
        "باشقىلار بۇ يەتكۈزۈشنى ھازىرلا قايتا ئۆچرەتكە قويدى.",
        "Someone else queued this delivery again just now.",
    ),
    "feed.forbidden": (
        "推送仅供服务单位的员工和 API 密钥使用。",
        "ئۇچۇر ئېقىمى پەقەت مۇلازىمەت ئورگانلىرىنىڭ خادىملىرى ۋە API ئاچقۇچلىرى ئۈچۈن.",
        "The feed is for provider organisations' staff and API keys.",
    ),
    "feed.cursor_expired": (
        "此游标早于推送的 {days} 天保留期，之后的事件已被清除。请重新同步：GET /v1/tickets 返回当前状态和 `feed_cursor`，从那里继续跟踪推送。",
        "بۇ كۇرسور ئۇچۇر ئېقىمىنىڭ {days} كۈنلۈك ساقلاش مۇددىتىدىن كونا، ئۇنىڭدىن كېيىنكى ۋەقەلەر ئۆچۈرۈلدى. قايتا ماسلاشتۇرۇڭ: GET /v1/tickets ھازىرقى ھالەت ۋە `feed_cursor` نى قايتۇرىدۇ، ئۇ يەردىن داۋاملاشتۇرۇڭ.",
        "This cursor is older than the feed's {days}-day window and events after it have "
        "left it. Resync: GET /v1/tickets returns the current state and `feed_cursor`; "
        "follow the feed from there.",
    ),
    # --- dashboard ---
    "dashboard.unknown_kind": ("未知类型。", "نامەلۇم تىپ.", "Unknown kind."),
    "dashboard.no_such_kind": ("没有这个类型", "بۇنداق تىپ يوق", "no such kind"),
}
