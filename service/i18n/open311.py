"""Catalogue: Open311 (service/open311) and integrations. code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "integration.not_found": (
        "没有对接系统 {id}。",
        "{id} نومۇرلۇق ئۇلىنىش سىستېمىسى يوق.",
        "No integration {id}.",
    ),
    "open311.api_key_missing": (
        "提交服务请求需要 api_key。",
        "مۇلازىمەت ئىلتىماسى يوللاش ئۈچۈن api_key كېرەك.",
        "Filing a service request needs an api_key.",
    ),
    "open311.api_key_invalid": (
        "api_key 无效或已吊销。",
        "api_key ئىناۋەتسىز ياكى بىكار قىلىنغان.",
        "The api_key is unknown or revoked.",
    ),
    "open311.jurisdiction_not_yours": (
        "此密钥不能向辖区 {id} 提交。",
        "بۇ ئاچقۇچ {id} رايونىغا يوللىيالمايدۇ.",
        "This key does not file into jurisdiction {id}.",
    ),
    "open311.jurisdiction_not_found": (
        "没有辖区 {id}。",
        "{id} نومۇرلۇق رايون يوق.",
        "No jurisdiction {id}.",
    ),
    "open311.service_not_found": (
        "没有服务 {code}。",
        "{code} مۇلازىمىتى يوق.",
        "No service {code}.",
    ),
    "open311.service_unknown": (
        "没有可通过 Open311 提交的服务 {code}",
        "Open311 ئارقىلىق يوللىغىلى بولىدىغان {code} مۇلازىمىتى يوق",
        "no service {code} that Open311 files",
    ),
    "open311.request_not_found": (
        "没有服务请求 {id}。",
        "{id} نومۇرلۇق مۇلازىمەت ئىلتىماسى يوق.",
        "No service request {id}.",
    ),
    "open311.token_not_found": ("没有令牌 {token}。", "{token} بەلگىسى يوق.", "No token {token}."),
    "open311.address_not_found": (
        "本辖区没有小区 {id}。",
        "بۇ رايوندا {id} نومۇرلۇق مەھەللە يوق.",
        "No community {id} in this jurisdiction.",
    ),
    "open311.where": (
        "请给出 address_id（小区编号），或 lat 和 long",
        "address_id (مەھەللە نومۇرى) ياكى lat ۋە long نى بېرىڭ",
        "give address_id (a community id), or lat and long",
    ),
    "open311.no_community_near": (
        "本辖区 {metres} 米内没有小区；请给出 address_id",
        "بۇ رايوندا {metres} مېتىر ئىچىدە مەھەللە يوق؛ address_id نى بېرىڭ",
        "no community of the jurisdiction within {metres} m; give address_id",
    ),
    "open311.coordinate": (
        "应为 {low} 到 {high} 之间的数",
        "{low} بىلەن {high} ئارىسىدىكى سان بولۇشى كېرەك",
        "a number from {low} to {high}",
    ),
    "open311.end_before_start": (
        "end_date 早于 start_date",
        "end_date باشلىنىش ۋاقتى start_date دىن بۇرۇن",
        "end_date is before start_date",
    ),
    "open311.range_too_long": (
        "时间范围最多 {days} 天",
        "ۋاقىت دائىرىسى ئەڭ كۆپ {days} كۈن",
        "the window spans at most {days} days",
    ),
    "open311.not_form": (
        "请以表单编码（application/x-www-form-urlencoded）提交。",
        "جەدۋەل كودى (application/x-www-form-urlencoded) بىلەن يوللاڭ.",
        "Send the request form-encoded (application/x-www-form-urlencoded).",
    ),
    "open311.undecodable": (
        "表单不是有效的 UTF-8 URL 编码。",
        "جەدۋەل ئىناۋەتلىك UTF-8 URL كودى ئەمەس.",
        "The form is not valid UTF-8 URL encoding.",
    ),
    # The attributes of a service definition, and their formats.
    "open311.attribute.area": (
        "位置：户内或公共区域",
        "ئورنى: ئۆي ئىچى ياكى ئاممىۋى رايون",
        "Where: inside a home or in a public area",
    ),
    "open311.attribute.area.format": (
        "private 或 public",
        "private ياكى public",
        "private or public",
    ),
    "open311.attribute.building": ("楼号", "بىنا نومۇرى", "Building"),
    "open311.attribute.building.format": (
        "文字，最多 50 字",
        "تېكىست، ئەڭ كۆپ 50 ھەرپ",
        "text, at most 50 characters",
    ),
    "open311.attribute.unit": ("单元", "بۆلەك", "Unit (entrance)"),
    "open311.attribute.unit.format": (
        "文字，最多 50 字",
        "تېكىست، ئەڭ كۆپ 50 ھەرپ",
        "text, at most 50 characters",
    ),
    "open311.attribute.room": (
        "房号（不公开）",
        "ئۆي نومۇرى (ئاشكارىلانمايدۇ)",
        "Room (never published)",
    ),
    "open311.attribute.room.format": (
        "文字，最多 50 字",
        "تېكىست، ئەڭ كۆپ 50 ھەرپ",
        "text, at most 50 characters",
    ),
    "open311.attribute.preferred_from": (
        "方便上门的开始时间",
        "ئۆيگە كېلىشكە قولايلىق باشلىنىش ۋاقتى",
        "Home from",
    ),
    "open311.attribute.preferred_from.format": (
        "带时区的 ISO 8601 时间，如 2026-12-03T10:00:00+08:00",
        "ۋاقىت رايونى بار ISO 8601 ۋاقتى، مەسىلەن 2026-12-03T10:00:00+08:00",
        "an ISO 8601 time with its offset, e.g. 2026-12-03T10:00:00+08:00",
    ),
    "open311.attribute.preferred_to": (
        "方便上门的结束时间",
        "ئۆيگە كېلىشكە قولايلىق ئاخىرلىشىش ۋاقتى",
        "Home until",
    ),
    "open311.attribute.preferred_to.format": (
        "带时区的 ISO 8601 时间，晚于开始时间",
        "ۋاقىت رايونى بار ISO 8601 ۋاقتى، باشلىنىش ۋاقتىدىن كېيىن",
        "an ISO 8601 time with its offset, after the start",
    ),
    "open311.area.private": ("户内", "ئۆي ئىچى", "Inside a home"),
    "open311.area.public": ("公共区域", "ئاممىۋى رايون", "Public area"),
}
