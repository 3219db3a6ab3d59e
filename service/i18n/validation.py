"""Catalogue: validation of request bodies and parameters (pydantic's error
types, mapped in service.errors.PYDANTIC_CODES, and the service's own
validators). code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "validation.failed": (
        "请求未通过校验，详见 errors。",
        "ئىلتىماس تەكشۈرۈشتىن ئۆتمىدى، errors قا قاراڭ.",
        "The request did not pass validation; see errors.",
    ),
    "validation.invalid": ("取值无效：{reason}", "قىممەت ئىناۋەتسىز: {reason}", "{reason}"),
    # pydantic's own checks
    "validation.missing": ("必填", "چوقۇم تولدۇرۇلىدۇ", "Field required"),
    "validation.unknown_field": (
        "不接受此字段",
        "بۇ بۆلەك قوبۇل قىلىنمايدۇ",
        "Extra inputs are not permitted",
    ),
    "validation.not_null": ("不能为 null", "null بولسا بولمايدۇ", "cannot be null"),
    "validation.too_long": (
        "最多 {max_length} 个字符",
        "كۆپ بولغاندا {max_length} ھەرپ",
        "String should have at most {max_length} characters",
    ),
    "validation.too_short": (
        "至少 {min_length} 个字符",
        "ئاز بولغاندا {min_length} ھەرپ",
        "String should have at least {min_length} characters",
    ),
    "validation.too_many": (
        "最多 {max_length} 项",
        "كۆپ بولغاندا {max_length} تۈر",
        "List should have at most {max_length} items",
    ),
    "validation.too_few": (
        "至少 {min_length} 项",
        "ئاز بولغاندا {min_length} تۈر",
        "List should have at least {min_length} items",
    ),
    "validation.pattern": (
        "格式不正确",
        "شەكلى توغرا ئەمەس",
        "String does not match the expected pattern",
    ),
    "validation.not_text": ("应为文本", "تېكىست بولۇشى كېرەك", "Input should be a valid string"),
    "validation.not_integer": (
        "应为整数",
        "پۈتۈن سان بولۇشى كېرەك",
        "Input should be a valid integer",
    ),
    "validation.not_number": ("应为数字", "سان بولۇشى كېرەك", "Input should be a valid number"),
    "validation.not_boolean": (
        "应为 true 或 false",
        "true ياكى false بولۇشى كېرەك",
        "Input should be a valid boolean",
    ),
    "validation.greater_than": (
        "应大于 {gt}",
        "{gt} دىن چوڭ بولۇشى كېرەك",
        "Input should be greater than {gt}",
    ),
    "validation.at_least": (
        "应不小于 {ge}",
        "{ge} دىن كىچىك بولماسلىقى كېرەك",
        "Input should be greater than or equal to {ge}",
    ),
    "validation.less_than": (
        "应小于 {lt}",
        "{lt} دىن كىچىك بولۇشى كېرەك",
        "Input should be less than {lt}",
    ),
    "validation.at_most": (
        "应不大于 {le}",
        "{le} دىن چوڭ بولماسلىقى كېرەك",
        "Input should be less than or equal to {le}",
    ),
    "validation.not_allowed": (
        "应为以下之一：{expected}",
        "تۆۋەندىكىلەرنىڭ بىرى بولۇشى كېرەك: {expected}",
        "Input should be {expected}",
    ),
    "validation.date": (
        "应为日期（YYYY-MM-DD）",
        "چېسلا بولۇشى كېرەك (YYYY-MM-DD)",
        "Input should be a valid date (YYYY-MM-DD)",
    ),
    "validation.datetime": (
        "应为 ISO 8601 日期时间",
        "ISO 8601 چېسلا-ۋاقىت بولۇشى كېرەك",
        "Input should be a valid ISO 8601 date-time",
    ),
    "validation.not_list": ("应为列表", "تىزىملىك بولۇشى كېرەك", "Input should be a valid list"),
    "validation.not_object": ("应为对象", "ئوبيېكت بولۇشى كېرەك", "Input should be an object"),
    "validation.json": ("不是有效的 JSON", "ئىناۋەتلىك JSON ئەمەس", "Invalid JSON"),
    "validation.url": (
        "不是有效的网址",
        "ئىناۋەتلىك تور ئادرېسى ئەمەس",
        "Input should be a valid URL",
    ),
    "validation.uuid": ("不是有效的 UUID", "ئىناۋەتلىك UUID ئەمەس", "Input should be a valid UUID"),
    # the service's validators (service.validation and the features' schemas)
    "validation.phone": (
        "不是中国大陆的手机或固定电话号码",
        "جۇڭگو قۇرۇقلۇقىدىكى يانفون ياكى مۇقىم تېلېفون نومۇرى ئەمەس",
        "not a mainland China mobile or landline number",
    ),
    "validation.nul": ("含有 NUL 字符", "NUL ھەرپى بار", "contains NUL"),
    "validation.control_characters": (
        "含有控制字符",
        "كونترول ھەرپى بار",
        "contains control characters",
    ),
    "validation.nothing_visible": (
        "没有可见的内容",
        "كۆرۈنىدىغان مەزمۇن يوق",
        "has nothing visible in it",
    ),
    "validation.time_zone": (
        "不是 IANA 时区名称，如 Asia/Urumqi",
        "IANA ۋاقىت رايونى ئەمەس، مەسىلەن Asia/Urumqi",
        "not an IANA time zone such as Asia/Urumqi",
    ),
    "validation.must_be_number": (
        "应为数字（不能是文本、true 或 false）",
        "سان بولۇشى كېرەك (تېكىست، true ياكى false ئەمەس)",
        "must be a number (not text, true or false)",
    ),
    "validation.credit_code": (
        "不是有效的统一社会信用代码（校验位不符）",
        "ئىناۋەتلىك بىرلىككە كەلگەن ئىجتىمائىي ئىناۋەت كودى ئەمەس (تەكشۈرۈش ھەرپى ماس ئەمەس)",
        "not a valid unified social credit code (check character mismatch)",
    ),
    "validation.time_range": (
        "时间不在 2020-2099 之间",
        "ۋاقىت 2020-2099 ئارىلىقىدا ئەمەس",
        "time outside 2020-2099",
    ),
    "validation.to_before_from": (
        "`to` 须晚于 `from`",
        "`to` چوقۇم `from` دىن كېيىن بولۇشى كېرەك",
        "`to` must be after `from`",
    ),
    "validation.range_reversed": (
        "结束早于开始",
        "ئاخىرلىشىش باشلىنىشتىن بالدۇر",
        "the range ends before it starts",
    ),
    "validation.date_or_datetime": (
        "不是日期（YYYY-MM-DD）或 ISO 8601 日期时间",
        "چېسلا (YYYY-MM-DD) ياكى ISO 8601 چېسلا-ۋاقىت ئەمەس",
        "not a date (YYYY-MM-DD) or ISO 8601 date-time",
    ),
    "validation.out_of_range": ("超出范围", "دائىرىدىن ئېشىپ كەتتى", "out of range"),
    "validation.time_zone_needed": (
        "时间须带时区。",
        "ۋاقىتتا ۋاقىت رايونى بولۇشى كېرەك.",
        "Times need a zone.",
    ),
    "validation.give_offset": (
        "请带上时区偏移，如 +08:00",
        "ۋاقىت رايونى پەرقىنى يېزىڭ، مەسىلەن +08:00",
        "give an offset, e.g. +08:00",
    ),
    "validation.hhmm": ("时间格式为 HH:MM", "ۋاقىت HH:MM شەكلىدە بولىدۇ", "a time is HH:MM"),
    "validation.time_of_day": (
        "不是一天中的时刻：{value}",
        "كۈن ئىچىدىكى ۋاقىت ئەمەس: {value}",
        "not a time of day: {value}",
    ),
}
