"""Labels of the contract's vocabularies, as GET /v1/vocabulary serves them:
vocabulary -> value -> (zh-Hans, ug, en). tests/test_vocabulary.py checks that
every value of the enums, the lifecycle and the indicators has one. Below them,
the words of the metrics exports that no vocabulary names (EXPORT_LABELS)."""

from __future__ import annotations

LABELS: dict[str, dict[str, tuple[str, str, str]]] = {
    "statuses": {
        "submitted": ("已提交", "تاپشۇرۇلدى", "Submitted"),
        "assigned": ("已派单", "تەقسىملەندى", "Assigned"),
        "accepted": ("已受理", "قوبۇل قىلىندى", "Accepted"),
        "in_progress": ("处理中", "بىر تەرەپ قىلىنىۋاتىدۇ", "In progress"),
        "on_hold": ("已挂起", "ۋاقىتلىق توختىتىلدى", "On hold"),
        "resolved": ("已办结", "ھەل قىلىندى", "Resolved"),
        "closed": ("已关闭", "تاقالدى", "Closed"),
        "cancelled": ("已撤销", "بىكار قىلىندى", "Cancelled"),
        "rejected": ("已驳回", "رەت قىلىندى", "Rejected"),
    },
    "priorities": {
        "emergency": ("紧急", "جىددىي", "Emergency"),
        "urgent": ("加急", "ئالدىرىڭغۇ", "Urgent"),
        "normal": ("一般", "ئادەتتىكى", "Normal"),
        "low": ("低", "تۆۋەن", "Low"),
    },
    "kinds": {
        "property": ("物业报修", "مۈلۈك رېمونتى", "Property"),
        "elderly_care": ("居家养老", "ياشانغانلار مۇلازىمىتى", "Elderly care"),
        "complaint": ("投诉", "ئەرز", "Complaint"),
    },
    "hold_reasons": {
        "awaiting_resident": ("等待居民", "ئاھالىنى كۈتۈۋاتىدۇ", "Awaiting the resident"),
        "awaiting_parts": ("等待配件", "زاپچاس كۈتۈۋاتىدۇ", "Awaiting parts"),
        "other": ("其他", "باشقا", "Other"),
    },
    "actions": {
        "assign": ("派单", "تەقسىملەش", "Assign"),
        "accept": ("受理", "قوبۇل قىلىش", "Accept"),
        "start": ("开始处理", "باشلاش", "Start"),
        "hold": ("挂起", "ۋاقىتلىق توختىتىش", "Put on hold"),
        "resume": ("恢复处理", "داۋاملاشتۇرۇش", "Resume"),
        "resolve": ("办结", "ھەل قىلىش", "Resolve"),
        "confirm": ("确认完成", "تاماملانغانلىقىنى جەزملەشتۈرۈش", "Confirm"),
        "reopen": ("重新打开", "قايتا ئېچىش", "Reopen"),
        "cancel": ("撤销", "بىكار قىلىش", "Cancel"),
        "urge": ("催单", "ئالدىرىتىش", "Urge"),
        "return": ("退回", "قايتۇرۇش", "Return"),
        "reject": ("驳回", "رەت قىلىش", "Reject"),
        "check_in": ("上门签到", "كىرىش تىزىملىتىش", "Check in"),
        "check_out": ("服务签退", "چىقىش تىزىملىتىش", "Check out"),
    },
    "announcement_kinds": {
        # Short: WeChat's `phrase` field holds five characters.
        "planned_outage": ("停水停电", "پىلانلىق توختىتىش", "Planned outage"),
        "emergency": ("紧急通知", "جىددىي ئۇقتۇرۇش", "Emergency"),
        "notice": ("公告", "ئۇقتۇرۇش", "Notice"),
    },
    "event_types": {
        "ticket.created": ("提交工单", "خىزمەت بېلىتى تاپشۇرۇلدى", "Ticket filed"),
        "ticket.assigned": ("已派单", "تەقسىملەندى", "Assigned"),
        "ticket.dispatched": ("已派给维修人员", "ئۇستىغا تاپشۇرۇلدى", "Dispatched to a technician"),
        "ticket.unassigned": ("已取消派单", "تەقسىمات بىكار قىلىندى", "Unassigned"),
        "ticket.accepted": ("已受理", "قوبۇل قىلىندى", "Accepted"),
        "ticket.started": ("开始处理", "بىر تەرەپ قىلىش باشلاندى", "Work started"),
        "ticket.held": ("已挂起", "ۋاقىتلىق توختىتىلدى", "Put on hold"),
        "ticket.resumed": ("恢复处理", "داۋاملاشتۇرۇلدى", "Resumed"),
        "ticket.resolved": ("已办结", "ھەل قىلىندى", "Resolved"),
        "ticket.confirmed": ("居民已确认", "ئاھالە جەزملەشتۈردى", "Confirmed by the resident"),
        "ticket.closed": ("已关闭", "تاقالدى", "Closed"),
        "ticket.reopened": ("重新打开", "قايتا ئېچىلدى", "Reopened"),
        "ticket.cancelled": ("已撤销", "بىكار قىلىندى", "Cancelled"),
        "ticket.returned": ("已退回", "قايتۇرۇلدى", "Returned"),
        "ticket.rejected": ("已驳回", "رەت قىلىندى", "Rejected"),
        "ticket.reclassified": ("已重新分类", "قايتا تۈرگە ئايرىلدى", "Reclassified"),
        "ticket.commented": ("新留言", "يېڭى ئىنكاس", "Comment"),
        "ticket.urged": ("居民催单", "ئاھالە ئالدىرىتتى", "Urged by the resident"),
        "ticket.escalated": ("已督办", "نازارەتكە يوللاندى", "Escalated"),
        "ticket.sla_breached": ("已超时", "ۋاقتى ئۆتتى", "Past its deadline"),
        "ticket.followed_up": ("已回访", "قايتا زىيارەت قىلىندى", "Followed up"),
        "ticket.follow_up_overdue": ("回访逾期", "قايتا زىيارەت ۋاقتى ئۆتتى", "Follow-up overdue"),
        "visit.checked_in": ("上门签到", "يېتىپ كېلىپ تىزىملاتتى", "Checked in"),
        "visit.checked_out": ("服务签退", "مۇلازىمەت ئاخىرلاشتى", "Checked out"),
        "visit.missed": ("未按时上门", "ۋاقتىدا بېرىلمىدى", "Visit missed"),
        "visit.not_home_twice": ("两次未遇", "ئىككى قېتىم ئۆيدە يوق", "Not at home twice"),
    },
    "indicators": {
        "created": ("工单数", "خىزمەت بېلىتى سانى", "Tickets filed"),
        "completion_rate": ("办结率", "ھەل قىلىنىش نىسبىتى", "Completion rate"),
        "response_on_time_rate": (
            "响应及时率",
            "ۋاقتىدا ئىنكاس قايتۇرۇش نىسبىتى",
            "On-time response rate",
        ),
        "resolution_on_time_rate": (
            "维修/办结及时率",
            "ۋاقتىدا ھەل قىلىش نىسبىتى",
            "On-time resolution rate",
        ),
        "response_minutes_p50": (
            "响应时长中位数（分钟）",
            "ئىنكاس ۋاقتى ئوتتۇرا سانى (مىنۇت)",
            "Median response time (minutes)",
        ),
        "response_minutes_p90": (
            "响应时长90分位（分钟）",
            "ئىنكاس ۋاقتى 90-پىرسەنتىل (مىنۇت)",
            "90th percentile response time (minutes)",
        ),
        "resolution_hours_p50": (
            "办结时长中位数（小时）",
            "ھەل قىلىش ۋاقتى ئوتتۇرا سانى (سائەت)",
            "Median resolution time (hours)",
        ),
        "resolution_hours_p90": (
            "办结时长90分位（小时）",
            "ھەل قىلىش ۋاقتى 90-پىرسەنتىل (سائەت)",
            "90th percentile resolution time (hours)",
        ),
        "satisfaction_rate": ("满意率", "رازىلىق نىسبىتى", "Satisfaction rate"),
        "avg_rating": ("平均评分", "ئوتتۇرىچە باھا", "Average rating"),
        "rating_coverage": ("评价率", "باھالاش نىسبىتى", "Rating coverage"),
        "follow_up_rate": ("回访率", "قايتا زىيارەت نىسبىتى", "Follow-up rate"),
        "reopen_rate": ("返修率", "قايتا رېمونت نىسبىتى", "Reopen rate"),
        "complaints": ("投诉数", "ئەرز سانى", "Complaints"),
        "complaints_per_1000_households": (
            "每千户投诉数",
            "ھەر مىڭ ئائىلىگە توغرا كېلىدىغان ئەرز",
            "Complaints per 1,000 households",
        ),
        "complaint_handling_rate": (
            "投诉处理率",
            "ئەرز بىر تەرەپ قىلىش نىسبىتى",
            "Complaint handling rate",
        ),
        "backlog": ("积压工单", "يىغىلىپ قالغان خىزمەت بېلىتى", "Backlog"),
        "overdue_open": ("超时未办结", "ۋاقتى ئۆتۈپ ھەل قىلىنمىغان", "Overdue and open"),
        "visits_scheduled": ("计划服务次数", "پىلانلانغان مۇلازىمەت سانى", "Visits scheduled"),
        "plan_fulfilment_rate": (
            "服务计划完成率",
            "مۇلازىمەت پىلانىنى ئورۇنداش نىسبىتى",
            "Care plan fulfilment rate",
        ),
        "visit_on_time_rate": (
            "上门准时率",
            "ۋاقتىدا يېتىپ بېرىش نىسبىتى",
            "Visits begun on time",
        ),
        "missed_visits": ("漏服务次数", "قالدۇرۇلغان مۇلازىمەت سانى", "Missed visits"),
        "emergency_response_seconds_p90": (
            "助急响应90分位（秒）",
            "جىددىي ياردەمگە ئىنكاس قايتۇرۇش ۋاقتى 90-پىرسەنتىل (سېكۇنت)",
            "90th percentile emergency response time (seconds)",
        ),
        "elders_served": ("服务老人数", "مۇلازىمەت قىلىنغان ياشانغانلار سانى", "Elders served"),
        "government_subsidy_visits": (
            "政府补贴服务次数",
            "ھۆكۈمەت ياردەم پۇلى بېرىلگەن مۇلازىمەت سانى",
            "Government-subsidised visits",
        ),
        "government_subsidy_share": (
            "政府补贴占比",
            "ھۆكۈمەت ياردەم پۇلىنىڭ ئۈلۈشى",
            "Government subsidy share",
        ),
    },
}

# Column headers and cell words of the metrics exports (CSV, XLSX) beyond the
# vocabularies above (indicators and kinds are labelled from LABELS, categories
# by their own three names): word -> (zh-Hans, ug, en). English exports keep the
# JSON's field names and values, as they always had: programs read them.
# Not served by GET /v1/vocabulary; tests/metrics/test_export_languages.py checks
# that every header and word of every export has its three.
EXPORT_LABELS: dict[str, tuple[str, str, str]] = {
    # the summary's group keys
    "region": ("地区", "رايون", "region"),
    "community": ("小区", "مەھەللە", "community"),
    "organization": ("服务企业", "مۇلازىمەت ئورگىنى", "organization"),
    "category": ("类别", "تۈر", "category"),
    "kind": ("工单类型", "خىزمەت بېلىتى تۈرى", "kind"),
    "month": ("月份", "ئاي", "month"),
    "quarter": ("季度", "پەسىل", "quarter"),
    # the rankings
    "rank": ("排名", "رەت تەرتىپى", "rank"),
    "score": ("综合得分", "ئومۇمىي نومۇر", "score"),
    "list": ("红黑榜", "قىزىل-قارا تىزىملىك", "list"),
    "red": ("红榜", "قىزىل تىزىملىك", "red"),
    "black": ("黑榜", "قارا تىزىملىك", "black"),
    # the trend
    "indicator": ("指标", "كۆرسەتكۈچ", "indicator"),
    "year_of_action": ("行动年度", "ھەرىكەت يىلى", "year_of_action"),
    "value": ("实际值", "ئەمەلىي قىممەت", "value"),
    "target": ("目标值", "نىشان قىممىتى", "target"),
    "met": ("是否达标", "نىشانغا يەتتىمۇ", "met"),
    "yes": ("是", "ھەئە", "yes"),
    "no": ("否", "ياق", "no"),
}
