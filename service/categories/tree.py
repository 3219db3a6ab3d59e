"""The reference category tree: code, kind, default priority, zh-Hans / ug / en names."""

from __future__ import annotations

from service.enums import Priority, TicketKind

P, E, C = TicketKind.property, TicketKind.elderly_care, TicketKind.complaint
N, U, X, L = Priority.normal, Priority.urgent, Priority.emergency, Priority.low

# (code, kind, default priority, 中文, ئۇيغۇرچە, English)
CATEGORY_TREE: tuple[tuple[str, TicketKind, Priority, str, str, str], ...] = (
    ("repair", P, N, "报修", "رېمونت", "Repairs"),
    ("repair.plumbing", P, U, "给排水", "سۇ تۇرۇبىسى", "Plumbing"),
    ("repair.electrical", P, U, "电路电气", "توك سىستېمىسى", "Electrical"),
    ("repair.elevator", P, U, "电梯", "لىفت", "Elevator"),
    ("repair.roof_leak", P, N, "屋面渗漏", "ئۆگزە ۋە سۇ ئۆتۈش", "Roof and leaks"),
    ("repair.doors_locks", P, N, "门窗门禁", "ئىشىك ۋە قۇلۇپ", "Doors and locks"),
    ("repair.heating", P, U, "供暖", "ئىسسىتىش", "Heating"),
    ("public", P, N, "公共区域", "ئاممىۋى رايون", "Public areas"),
    ("public.cleaning", P, N, "环境卫生", "تازىلىق", "Cleaning"),
    ("public.greening", P, L, "绿化", "كۆكەرتىش", "Greening"),
    ("public.lighting", P, N, "公共照明", "يورۇتۇش", "Lighting"),
    ("public.waste", P, N, "垃圾清运", "ئەخلەت توشۇش", "Waste collection"),
    ("security", P, N, "安全与停车", "بىخەتەرلىك ۋە ماشىنا توختىتىش", "Security and parking"),
    ("security.safety", P, U, "治安消防", "ئامانلىق ۋە ئوت ئۆچۈرۈش", "Safety and fire"),
    ("security.parking", P, N, "停车管理", "ماشىنا توختىتىش", "Parking"),
    ("neighbour", P, L, "邻里事务", "قوشنىدارچىلىق", "Neighbourhood"),
    ("neighbour.noise", P, L, "噪音扰民", "شاۋقۇن", "Noise"),
    ("neighbour.dispute", P, L, "邻里纠纷", "قوشنىلار ماجىراسى", "Neighbour disputes"),
    ("complaint", C, N, "投诉", "ئەرز", "Complaints"),
    (
        "complaint.property_service",
        C,
        N,
        "物业服务投诉",
        "مۈلۈك مۇلازىمىتىگە ئەرز",
        "Property service",
    ),
    ("complaint.fees", C, N, "物业收费投诉", "ھەق ئېلىشقا ئەرز", "Fees"),
    (
        "complaint.staff_conduct",
        C,
        N,
        "人员态度投诉",
        "خادىملار پوزىتسىيەسىگە ئەرز",
        "Staff conduct",
    ),
    ("elderly", E, N, "居家养老服务", "ياشانغانلارنى ئائىلىدە كۈتۈش", "Elderly care"),
    ("elderly.meal", E, N, "助餐", "تاماق ياردىمى", "Meals"),
    ("elderly.bathing", E, N, "助浴", "يۇيۇنۇش ياردىمى", "Bathing"),
    ("elderly.cleaning", E, N, "助洁", "تازىلىق ياردىمى", "Cleaning"),
    ("elderly.emergency", E, X, "助急", "جىددىي ياردەم", "Emergency help"),
    ("elderly.medical", E, U, "助医", "داۋالىنىش ياردىمى", "Medical accompaniment"),
    ("elderly.mobility", E, N, "助行", "ماڭدۇرۇش ياردىمى", "Walking and mobility"),
    (
        "elderly.visit",
        E,
        N,
        "独居老人探访",
        "يالغۇز ياشانغانلارنى يوقلاش",
        "Visits to elderly living alone",
    ),
)
