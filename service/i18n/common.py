"""Catalogue: problem titles, HTTP, authentication, the request guards, load,
cursors and Idempotency-Key. code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    # --- titles, one per problem type (service.errors: "title." + slug) ---
    "title.bad_request": ("请求有误", "ئىلتىماس خاتا", "Bad Request"),
    "title.unauthorized": ("未通过身份验证", "كىملىك دەلىللەنمىدى", "Unauthorized"),
    "title.forbidden": ("无权操作", "ھوقۇقىڭىز يوق", "Forbidden"),
    "title.not_found": ("未找到", "تېپىلمىدى", "Not Found"),
    "title.method_not_allowed": ("不支持该方法", "بۇ ئۇسۇل قوللانمايدۇ", "Method Not Allowed"),
    "title.conflict": ("操作冲突", "توقۇنۇش", "Conflict"),
    "title.invalid_transition": (
        "不允许此操作",
        "بۇ مەشغۇلاتقا يول قويۇلمايدۇ",
        "Action not allowed",
    ),
    "title.concurrent_update": (
        "数据已被他人修改",
        "باشقىلار ئۆزگەرتىپ بولدى",
        "Concurrent update",
    ),
    "title.idempotency_in_progress": (
        "使用此 Idempotency-Key 的请求正在处理",
        "بۇ Idempotency-Key بىلەن ئەۋەتىلگەن ئىلتىماس بىر تەرەپ قىلىنىۋاتىدۇ",
        "Request with this Idempotency-Key is in progress",
    ),
    "title.precondition_failed": (
        "前提条件不成立",
        "ئالدىنقى شەرت قاندۇرۇلمىدى",
        "Precondition Failed",
    ),
    "title.payload_too_large": ("请求内容过大", "ئىلتىماس مەزمۇنى بەك چوڭ", "Payload Too Large"),
    "title.unsupported_media_type": (
        "不支持的内容类型",
        "بۇ مەزمۇن تىپى قوللانمايدۇ",
        "Unsupported Media Type",
    ),
    "title.unprocessable": (
        "无法处理的内容",
        "بىر تەرەپ قىلغىلى بولمايدىغان مەزمۇن",
        "Unprocessable Content",
    ),
    "title.idempotency_key_reused": (
        "Idempotency-Key 已用于另一请求",
        "Idempotency-Key باشقا بىر ئىلتىماستا ئىشلىتىلگەن",
        "Idempotency-Key reused with another request",
    ),
    "title.validation": ("校验未通过", "تەكشۈرۈشتىن ئۆتمىدى", "Validation failed"),
    "title.feed_cursor_expired": ("游标已过期", "كۇرسورنىڭ ۋاقتى ئۆتتى", "Cursor expired"),
    "title.too_many_requests": ("请求过于频繁", "ئىلتىماس بەك كۆپ", "Too Many Requests"),
    "title.overloaded": ("服务繁忙", "مۇلازىمەت ئالدىراش", "Service Unavailable"),
    "title.internal": ("服务器内部错误", "مۇلازىمېتىردا ئىچكى خاتالىق", "Internal Server Error"),
    # --- what the framework answers by itself ---
    "http.bad_request": (
        "无法读取请求内容。",
        "ئىلتىماس مەزمۇنىنى ئوقۇغىلى بولمىدى.",
        "The request body could not be read.",
    ),
    "http.not_found": ("没有这个地址。", "بۇنداق ئادرېس يوق.", "There is nothing at this path."),
    "http.method_not_allowed": (
        "该地址不支持此方法，请见 Allow。",
        "بۇ ئادرېس بۇ ئۇسۇلنى قوللىمايدۇ، Allow غا قاراڭ.",
        "This path does not take this method; see Allow.",
    ),
    "http.error": (
        "请求未能完成。",
        "ئىلتىماس ئورۇندالمىدى.",
        "The request could not be completed.",
    ),
    "internal": (
        "服务出现意外错误，请稍后再试。",
        "مۇلازىمەتتە كۈتۈلمىگەن خاتالىق كۆرۈلدى، سەل تۇرۇپ قايتا سىناڭ.",
        "Something went wrong on our side; try again later.",
    ),
    # --- authentication ---
    "metrics.token": (
        "请发送 `Authorization: Bearer <LINLI_METRICS_TOKEN>`。",
        "`Authorization: Bearer <LINLI_METRICS_TOKEN>` نى ئەۋەتىڭ.",
        "Send `Authorization: Bearer <LINLI_METRICS_TOKEN>`.",
    ),
    "auth.missing": (
        "请发送 `Authorization: Bearer <令牌>`。",
        "`Authorization: Bearer <توكېن>` نى ئەۋەتىڭ.",
        "Send `Authorization: Bearer <token>`.",
    ),
    "auth.token_expired": ("令牌已过期。", "توكېننىڭ ۋاقتى ئۆتۈپ كەتتى.", "The token has expired."),
    "auth.token_invalid": ("令牌无效。", "توكېن ئىناۋەتسىز.", "The token is not valid."),
    "auth.claim_missing": (
        "令牌缺少其角色所需的 `{claim}` 声明。",
        "توكېندا رولىغا كېرەكلىك `{claim}` ئۇچۇرى يوق.",
        "The token lacks the `{claim}` claim its role needs.",
    ),
    "auth.claim_not_id": (
        "`{claim}` 声明不是有效的编号。",
        "`{claim}` ئۇچۇرى ئىناۋەتلىك نومۇر ئەمەس.",
        "The `{claim}` claim is not an id.",
    ),
    "auth.sub_empty": (
        "令牌的 `sub` 为空或不是字符串。",
        "توكېندىكى `sub` قۇرۇق ياكى تېكىست ئەمەس.",
        "The token's `sub` is empty or not a string.",
    ),
    "auth.sub_too_long": (
        "令牌的 `sub` 超过 {limit} 个字符。",
        "توكېندىكى `sub` {limit} ھەرپتىن ئېشىپ كەتتى.",
        "The token's `sub` is longer than {limit} characters.",
    ),
    "auth.sub_unprintable": (
        "令牌的 `sub` 含有控制字符或不可见字符。",
        "توكېندىكى `sub` دا كونترول ياكى كۆرۈنمەيدىغان ھەرپ بار.",
        "The token's `sub` contains control or invisible characters.",
    ),
    "auth.role_unknown": (
        "令牌中的角色无法识别。",
        "توكېندىكى رول نامەلۇم.",
        "Unknown role in token.",
    ),
    "auth.org_role_missing": (
        "provider_staff 令牌需要 org_role：dispatcher 或 technician。",
        "provider_staff توكېنىغا org_role كېرەك: dispatcher ياكى technician.",
        "provider_staff tokens need org_role dispatcher|technician.",
    ),
    "auth.scope_unknown": (
        "令牌中的 {claim} 不存在。",
        "توكېندىكى {claim} مەۋجۇت ئەمەس.",
        "The token's {claim} does not exist.",
    ),
    "auth.api_key_unknown": (
        "API 密钥不存在或已吊销。",
        "API ئاچقۇچى مەۋجۇت ئەمەس ياكى ئەمەلدىن قالدۇرۇلغان.",
        "Unknown or revoked API key.",
    ),
    "auth.provision_failed": (
        "暂时无法登记此用户，请重试。",
        "بۇ ئىشلەتكۈچىنى ھازىرچە تىزىملىغىلى بولمىدى، قايتا سىناڭ.",
        "Could not provision this user; retry.",
    ),
    "auth.admin_only": (
        "只有住房管理部门的管理员可以执行此操作。",
        "بۇ مەشغۇلاتنى پەقەت تۇرالغۇ باشقۇرۇش تارمىقىنىڭ باشقۇرغۇچىلىرى قىلالايدۇ.",
        "Only the housing department's administrators may do this.",
    ),
    # --- the request guards (service.middleware) ---
    "body.too_large": (
        "请求内容不能超过 {limit} 字节。",
        "ئىلتىماس مەزمۇنى {limit} بايتتىن ئاشمىسۇن.",
        "Bodies are limited to {limit} bytes.",
    ),
    "body.not_json": (
        "请以 JSON 发送，并带上 Content-Type: application/json。",
        "JSON شەكلىدە، Content-Type: application/json بىلەن ئەۋەتىڭ.",
        "Send JSON with Content-Type: application/json.",
    ),
    "query.invalid": (
        "查询参数未通过校验，详见 errors。",
        "سۈرۈشتۈرۈش پارامېتىرلىرى تەكشۈرۈشتىن ئۆتمىدى، errors قا قاراڭ.",
        "The query string did not pass validation; see errors.",
    ),
    "query.too_long": (
        "超过 {limit} 字节",
        "{limit} بايتتىن ئېشىپ كەتتى",
        "longer than {limit} bytes",
    ),
    "query.too_many_values": (
        "取值超过 {limit} 个",
        "قىممىتى {limit} دىن كۆپ",
        "more than {limit} values",
    ),
    # --- load ---
    "overload.in_flight": (
        "处理中的请求过多，本次未做任何操作。请在 Retry-After 秒后重试。",
        "بىر تەرەپ قىلىنىۋاتقان ئىلتىماس بەك كۆپ، ھېچ ئىش قىلىنمىدى. Retry-After سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "Too many requests in progress; nothing was done. Retry after Retry-After seconds.",
    ),
    "overload.pool_exhausted": (
        "服务繁忙，本次未做任何操作。请在 Retry-After 秒后重试。",
        "مۇلازىمەت ئالدىراش، ھېچ ئىش قىلىنمىدى. Retry-After سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "The service is busy; nothing was done. Retry after the Retry-After seconds.",
    ),
    "overload.database_unavailable": (
        "数据库暂时不可用。请在 Retry-After 秒后重试（重试时带上同一个 Idempotency-Key）。",
        "ساندان ۋاقىتلىق ئىشلىمەيدۇ. Retry-After سېكۇنتتىن كېيىن قايتا سىناڭ (ئوخشاش Idempotency-Key بىلەن).",
        "The database is unavailable for a moment. Retry after Retry-After seconds "
        "(with the same Idempotency-Key).",
    ),
    "overload.reads_in_flight": (
        "耗时的查询过多，本次未做任何操作。请在 Retry-After 秒后重试。",
        "ۋاقىت ئالىدىغان سۈرۈشتۈرۈش بەك كۆپ، ھېچ ئىش قىلىنمىدى. Retry-After سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "Too many expensive reads in progress; nothing was done. Retry after Retry-After seconds.",
    ),
    "overload.reads_per_caller": (
        "您已有 {limit} 个此类请求在处理中；请等待结果，或在 Retry-After 秒后重试。",
        "سىزنىڭ بۇ خىل {limit} ئىلتىماسىڭىز بىر تەرەپ قىلىنىۋاتىدۇ؛ نەتىجىنى ساقلاڭ ياكى Retry-After سېكۇنتتىن كېيىن قايتا سىناڭ.",
        "You already have {limit} such request(s) in progress; "
        "wait for the answer, or retry after Retry-After seconds.",
    ),
    # --- cursors and Idempotency-Key ---
    "cursor.bad": ("游标无效。", "كۇرسور ئىناۋەتسىز.", "Bad cursor."),
    "cursor.not_ours": (
        "不是本服务签发的游标",
        "بىز بەرگەن كۇرسور ئەمەس",
        "not a cursor we issued",
    ),
    "cursor.not_feed": (
        "不是本服务签发的推送游标",
        "بىز بەرگەن ئۇچۇر ئېقىمى كۇرسورى ئەمەس",
        "not a feed cursor we issued",
    ),
    "idempotency.bad_key": (
        "Idempotency-Key 无效。",
        "Idempotency-Key ئىناۋەتسىز.",
        "Bad Idempotency-Key.",
    ),
    "idempotency.key_shape": (
        "1 至 255 个可打印字符",
        "1 دىن 255 كىچە بېسىلىدىغان ھەرپ",
        "1-255 printable characters",
    ),
    "idempotency.in_progress": (
        "使用此密钥的首个请求仍在处理，请稍后重试。",
        "بۇ ئاچقۇچ بىلەن ئەۋەتىلگەن تۇنجى ئىلتىماس تېخى بىر تەرەپ قىلىنىۋاتىدۇ، سەل تۇرۇپ قايتا سىناڭ.",
        "The first request with this key is still being processed; retry shortly.",
    ),
    "idempotency.key_reused": (
        "此 Idempotency-Key 已用于内容不同的请求。",
        "بۇ Idempotency-Key مەزمۇنى باشقا بىر ئىلتىماستا ئىشلىتىلگەن.",
        "This Idempotency-Key was used with a different request body.",
    ),
}
