"""An example of every request body, by operationId, as /docs offers it in "Try it
out" and generated clients show it in their comments.

Text is in Chinese, as residents and staff write it; ids are placeholders for
ids the API returned. tests/test_apidoc.py checks that every operation with a
body has one here and that each example passes the body's own validation.
"""

from __future__ import annotations

from typing import Any

# operationId -> {example name: (summary, body)}
Examples = dict[str, tuple[str, Any]]

_REPAIR = {
    "category": "repair.plumbing",
    "community_id": 1,
    "description": "厨房水管接口漏水，楼下天花板在滴水",
}

EXAMPLES: dict[str, Examples] = {
    # --- tickets ---------------------------------------------------------------------
    "createTicket": {
        "minimal": ("Only what is required", _REPAIR),
        "resident": (
            "A resident in the WeChat mini program",
            {
                **_REPAIR,
                "title": "厨房漏水",
                "priority": "urgent",
                "location": {"building": "3", "unit": "2", "room": "501", "area": "private"},
                "contact_phone": "13900000001",
                "preferred_time": {
                    "from": "2026-12-03T10:00:00+08:00",
                    "to": "2026-12-03T13:00:00+08:00",
                },
                "channel": "wechat",
            },
        ),
        "on_behalf": (
            "A grid worker files for an elderly resident without a smartphone",
            {
                "category": "elderly.meal",
                "community_id": 1,
                "description": "独居老人行动不便，需要每天送午餐",
                "location": {"building": "7", "unit": "1", "room": "102", "area": "private"},
                "on_behalf_of": {"name": "阿依古丽·买买提", "phone": "13900000002"},
                "channel": "walk_in",
            },
        ),
    },
    "reclassifyTicket": {
        "urgent": (
            "A dispatcher raises the priority",
            {"priority": "urgent", "reason": "住户反映水已漫到楼道，影响邻居出行"},
        ),
    },
    "assignTicket": {
        "organization": ("An admin sends it to a property company", {"organization_id": 12}),
        "technician": ("A dispatcher gives it to one of their technicians", {"assignee_id": 57}),
    },
    "acceptTicket": {"empty": ("No body is needed", {})},
    "startTicket": {"empty": ("No body is needed", {})},
    "resumeTicket": {"empty": ("No body is needed", {})},
    "holdTicket": {
        "parts": (
            "Waiting for a part",
            {"reason": "awaiting_parts", "note": "等待更换阀门配件，预计明天到货"},
        ),
    },
    "resolveTicket": {
        "fixed": ("The work is done", {"note": "已更换水管接头，试水半小时无渗漏"}),
        "alone_well": ("A visit to an elder living alone found him well", {"outcome": "well"}),
    },
    "checkInVisit": {
        "position": (
            "The carer at the door, with the phone's position",
            {"latitude": 43.825592, "longitude": 87.616848},
        ),
        "no_position": ("No position (the phone could not tell)", {}),
    },
    "checkOutVisit": {
        "meal": (
            "Lunch delivered, with a photo",
            {"note": "午餐已送到，老人当面签收", "attachment_ids": [88]},
        ),
        "needs_help": (
            "A 探访 found the elder needing help: a follow-on ticket opens",
            {
                "outcome": "needs_help",
                "follow_on_category": "elderly.medical",
                "note": "老人血压偏高，需要陪同就医",
            },
        ),
    },
    "confirmTicket": {
        "rating": (
            "The resident confirms and rates",
            {"rating": 5, "comment": "师傅来得很快，修得也好", "tags": ["准时", "专业"]},
        ),
    },
    "reopenTicket": {"again": ("It broke again", {"reason": "水管又开始漏水了"})},
    "cancelTicket": {"solved": ("No longer needed", {"reason": "问题已自行解决"})},
    "returnTicket": {
        "not_ours": ("Not this company's work", {"reason": "属于供暖公司管辖，不在本公司服务范围"}),
    },
    "rejectTicket": {
        "duplicate": ("A duplicate", {"reason": "与已有工单重复", "duplicate_of": 1023}),
    },
    "urgeTicket": {"empty": ("No body is needed: the reporter presses for action", {})},
    "addTicketComment": {
        "public": ("To the resident", {"body": "师傅下午三点上门，请家里留人", "internal": False}),
        "internal": ("Staff only", {"body": "上次维修用的是旧型号阀门", "internal": True}),
    },
    "addTicketFollowUp": {
        "phone": (
            "A follow-up call (回访)",
            {"method": "phone", "satisfied": True, "note": "电话回访，住户表示满意"},
        ),
    },
    # --- reference data ---------------------------------------------------------------
    "createCategory": {
        "water_heater": (
            "A new repair category",
            {
                "code": "repair.water_heater",
                "kind": "property",
                "default_priority": "normal",
                "names": {
                    "zh-Hans": "热水器维修",
                    "ug": "سۇ ئىسسىتقۇچ رېمونتى",
                    "en": "Water heater repair",
                },
                "sort_order": 170,
            },
        ),
    },
    "updateCategory": {
        "rename": ("A better name", {"names": {"zh-Hans": "燃气热水器维修"}, "active": True}),
    },
    "createRegion": {
        "county": (
            "A county under its prefecture",
            {"name": "天山区", "level": "county", "parent_id": 2, "timezone": "Asia/Urumqi"},
        ),
    },
    "updateRegion": {"timezone": ("The SLA clocks' local time", {"timezone": "Asia/Urumqi"})},
    "createCommunity": {
        "renovated": (
            "A community of the renovation list",
            {
                "name": "幸福路小区",
                "region_id": 3,
                "address": "乌鲁木齐市天山区幸福路88号",
                "households": 860,
                "residents": 2150,
                "renovation_year": 2025,
                "renovation_batch": "2025年第一批",
                "latitude": 43.7931,
                "longitude": 87.6271,
            },
        ),
    },
    "updateCommunity": {
        "counts": ("New household counts", {"households": 872, "residents": 2190}),
    },
    "assignCommunityProvider": {
        "since": ("Who serves it, from when", {"organization_id": 12, "since": "2026-01-01"}),
    },
    "createOrganization": {
        "company": (
            "A property company",
            {
                "name": "天山物业服务有限公司",
                "kind": "property_company",
                "credit_code": "91650102MA77XKQ51D",
                "contact_phone": "0991-2345678",
            },
        ),
    },
    "updateOrganization": {"phone": ("A new contact phone", {"contact_phone": "13912345678"})},
    "markNotificationRead": {"empty": ("No body is needed", {})},
    "setNotificationPreferences": {
        "uyghur": (
            "Messages in Uyghur, by WeChat and SMS, without comments",
            {"language": "ug", "wechat": True, "sms": True, "muted": ["ticket.commented"]},
        ),
        "defaults": ("Back to the defaults (WeChat on, SMS off)", {}),
    },
    "createAnnouncement": {
        "water": (
            "The property company announces a water cut for works on the mains",
            {
                "community_ids": [1, 2],
                "kind": "planned_outage",
                "title": "12月5日停水通知",
                "body": "因主管道维修，12月5日8:00至18:00停水，请提前储水。",
                "starts_at": "2026-12-05T08:00:00+08:00",
                "ends_at": "2026-12-05T18:00:00+08:00",
            },
        ),
        "heating": (
            "The housing department: heating is off after a burst pipe",
            {
                "community_ids": [1],
                "kind": "emergency",
                "title": "供热管道爆裂，暂停供暖",
                "body": "换热站管道爆裂，正在抢修，预计今晚恢复供暖。",
                "starts_at": "2026-12-03T14:00:00+08:00",
                "ends_at": "2026-12-03T23:00:00+08:00",
            },
        ),
    },
    "createApiKey": {"dispatch": ("For the company's dispatch system", {"name": "调度系统"})},
    "createIntegration": {
        "hotline": (
            "The city's 12345 hotline files into 天山区 through Open311",
            {"name": "12345 市民热线", "region_id": 6},
        )
    },
    "createWebhook": {
        "dispatch": (
            "The company's dispatch system",
            {
                "url": "https://dispatch.example.com/linli/hooks",
                "event_types": ["ticket.assigned", "ticket.reopened"],
                "description": "调度系统接收新派工单",
            },
        ),
    },
    "redeliverWebhookDelivery": {"empty": ("No body is needed", {})},
    # --- dispatch ----------------------------------------------------------------------
    "updateStaff": {
        "deactivate": ("A technician who left the company", {"active": False}),
        "on_duty": ("Their dispatcher puts a technician on duty", {"on_duty": True}),
    },
    "setOnDuty": {"start": ("A technician starts their shift", {"on_duty": True})},
    "putDispatchModes": {
        "repairs_in_turn": (
            "Repairs in turn among technicians on duty, plumbing by the dispatcher, "
            "everything else grabbed (抢单)",
            {
                "rules": [
                    {"category": "repair", "mode": "round_robin"},
                    {"category": "repair.plumbing", "mode": "manual"},
                    {"category": None, "mode": "grab"},
                ]
            },
        ),
        "manual": ("Back to manual dispatch for everything", {"rules": []}),
    },
    # --- SLA ---------------------------------------------------------------------------
    "createSlaPolicy": {
        "elevator": (
            "Elevator breakdowns",
            {
                "name": "电梯故障（紧急）",
                "kind": "property",
                "category": "repair.elevator",
                "priority": "emergency",
                "respond_minutes": 15,
                "resolve_minutes": 240,
                "calendar_id": 1,
                "pause_on": ["awaiting_parts"],
                "escalate_after_minutes": 30,
            },
        ),
    },
    "updateSlaPolicy": {
        "faster": ("A faster response", {"respond_minutes": 10, "active": True}),
    },
    "createCalendar": {
        "office": (
            "A property office's hours (Xinjiang keeps later hours in Beijing time)",
            {
                "code": "property_office",
                "name": "物业服务中心工作时间",
                "timezone": "Asia/Urumqi",
                "hours": {
                    day: [["10:00", "14:00"], ["15:30", "19:30"]]
                    for day in ("mon", "tue", "wed", "thu", "fri")
                },
                "official_holidays": True,
            },
        ),
    },
    "updateCalendar": {"rename": ("A new name", {"name": "物业前台工作时间"})},
    "setCalendarDay": {
        "holiday": ("A regional holiday", {"working": False, "note": "古尔邦节"}),
        "makeup": (
            "A make-up working day (调休)",
            {"working": True, "hours": [["10:00", "19:30"]], "note": "调休上班"},
        ),
    },
    # --- metrics -----------------------------------------------------------------------
    "updateThreeYearAction": {
        "targets": (
            "This year's targets and the ranking's threshold",
            {
                "targets": {"satisfaction_rate": [0.85, 0.88, 0.9]},
                "red_list_min_score": 85,
                "min_tickets": 30,
            },
        ),
    },
    # --- elderly care ---------------------------------------------------------------------
    "createElder": {
        "minimal": (
            "Only what is required: no sensitive field, so no consent",
            {"community_id": 1, "name": "买买提·艾力"},
        ),
        "with_consent": (
            "A grid worker registers an elder living alone, with the consent she signed",
            {
                "community_id": 1,
                "name": "阿依古丽·买买提",
                "phone": "13900000002",
                "birth_year": 1946,
                "gender": "female",
                "lives_alone": True,
                "care_level": 2,
                "location": {"building": "7", "unit": "1", "room": "102"},
                "emergency_contacts": [
                    {"name": "古丽娜尔", "relation": "女儿", "phone": "13800000003"}
                ],
                "health_notes": "高血压，每日服药；行走需拐杖",
                "consent": {
                    "given_at": "2026-12-01T10:00:00+08:00",
                    "by": "self",
                    "note": "本人在社区服务站签署书面同意书",
                },
            },
        ),
    },
    "createCarePlan": {
        "meals": (
            "Lunch delivered on weekdays, not on public holidays, 60% subsidised",
            {
                "elder_id": 1,
                "category": "elderly.meal",
                "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                "time": "11:30",
                "duration_minutes": 30,
                "starts_on": "2026-12-07",
                "skip_holidays": True,
                "government_share_percent": 60,
                "note": "少盐少油，送到门口",
            },
        ),
        "bathing": (
            "Bathing every other Saturday until the end of next year",
            {
                "elder_id": 1,
                "category": "elderly.bathing",
                "rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA",
                "time": "15:00",
                "duration_minutes": 90,
                "starts_on": "2026-12-12",
                "ends_on": "2027-12-31",
            },
        ),
    },
    "updateCarePlan": {
        "later": (
            "Lunch half an hour later from now on (visits to come are reshaped)",
            {"time": "12:00"},
        ),
        "pause": ("Paused while the elder is in hospital", {"active": False}),
    },
    "updateElder": {
        "care_level": (
            "After a new ability assessment",
            {"care_level": 3, "health_notes": "左髋骨折术后，卧床为主"},
        ),
        "withdraw": (
            "Consent withdrawn: the sensitive fields are erased with it",
            {"consent": None},
        ),
    },
    "addElderProxy": {
        "phone": ("Her daughter, by the phone she signs in with", {"phone": "13800000003"}),
        "user_id": ("A resident of the community, by id", {"user_id": 57}),
    },
    "createDashboardLink": {
        "year": (
            "The property services of 2026",
            {"from": "2026-01-01", "to": "2027-01-01", "kind": "property"},
        ),
    },
}


def media_examples(operation_id: str) -> dict[str, dict[str, Any]] | None:
    """The OpenAPI `examples` map of an operation's JSON body, if it has any."""
    examples = EXAMPLES.get(operation_id)
    if examples is None:
        return None
    return {
        name: {"summary": summary, "value": value} for name, (summary, value) in examples.items()
    }
