"""A believable demo data set: `python -m service seed-demo`.

One province with four prefectures and six districts, ten communities renovated
in 2023, five property companies of different quality and two elderly-care
providers, people of every role, and tickets from the three-year action's start
(2024-01-01) to now, so that the dashboard's trend, rankings and red and black
lists have something to show. The same seed gives the same data (on the same
day: the history ends a fixed number of days before today).

Two parts:

- the **history**, a few thousand tickets from 2024-01-01 until six weeks ago,
  all finished, with their timelines (events), ratings, follow-up visits, SLA
  breaches and complaints, written in bulk (executemany): each company serves
  as well as its `QUALITY` says, the struggling one improving over the years;
- the **stories** of the last weeks, about fifty tickets in every status, some
  with comments: written by the service functions the API calls, acting as
  principals built from the seeded users, so every timeline is one the service
  itself would write. So that the timelines span the weeks instead of one
  second, the demo replays their actions in time order on a clock it moves
  forward: for the duration of the replay `utcnow()` answers the clock's time.
  The nightly auto-close of resolved tickets runs on that clock too; like the
  real `close-resolved` job it looks at every resolved ticket, so load the demo
  into an empty or development database.
"""

from __future__ import annotations

import datetime as dt
import random
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from service import db
from service.auth import Principal
from service.categories.models import Category
from service.categories.service import load_reference_tree
from service.categories.tree import CATEGORY_TREE
from service.config import Settings
from service.directory.credit_code import ALPHABET, check_character
from service.directory.models import Community, Organization, Region
from service.directory.schemas import (
    CommunityCreate,
    OrganizationCreate,
    ProviderAssign,
    RegionCreate,
)
from service.directory.service import (
    assign_provider,
    create_community,
    create_organization,
    create_region,
)
from service.enums import (
    Channel,
    FollowUpMethod,
    LocationArea,
    OrganizationKind,
    OrgRole,
    Priority,
    RegionLevel,
    Role,
    ServiceKind,
    Status,
    TicketKind,
    service_kind_for,
)
from service.tickets.models import FollowUp, Ticket, TicketComment, TicketEvent
from service.tickets.schemas import (
    AssignBody,
    CommentCreate,
    ConfirmBody,
    EmptyBody,
    FollowUpCreate,
    HoldBody,
    OptionalReasonBody,
    ReasonBody,
    RejectBody,
    ResolveBody,
    TicketCreate,
)
from service.tickets.service import (
    add_comment,
    add_follow_up,
    auto_close_resolved,
    create_ticket,
    get_visible_ticket,
    perform,
    ticket_number,
)
from service.users.models import User

PROVINCE = "新疆维吾尔自治区"
PROVINCE_ADMIN = "demo-admin-province"
COUNTY_ADMIN = "demo-admin-tianshan"

# --- the world ----------------------------------------------------------------

# (key, name, telephone area code)
PREFECTURES = (
    ("urumqi", "乌鲁木齐市", "0991"),
    ("kashgar", "喀什地区", "0998"),
    ("ili", "伊犁哈萨克自治州", "0999"),
    ("aksu", "阿克苏地区", "0997"),
)
# (key, prefecture, name, administrative division code)
COUNTIES = (
    ("tianshan", "urumqi", "天山区", "650102"),
    ("saybagh", "urumqi", "沙依巴克区", "650103"),
    ("xinshi", "urumqi", "新市区", "650104"),
    ("kashi", "kashgar", "喀什市", "653101"),
    ("yining", "ili", "伊宁市", "654002"),
    ("aksu_city", "aksu", "阿克苏市", "652901"),
)


@dataclass(frozen=True)
class _Place:
    key: str
    county: str
    name: str
    address: str
    households: int
    batch: str
    latitude: float
    longitude: float
    residents: tuple[str, ...]
    grid_worker: str | None = None
    # Elderly people without a smartphone, for whom the grid worker files.
    elderly: tuple[str, ...] = ()


COMMUNITIES = (
    _Place(
        "xingfu", "tianshan", "幸福路北一巷小区", "乌鲁木齐市天山区幸福路北一巷18号",
        624, "2023年第一批", 43.793512, 87.634906,
        ("阿依古丽·买买提", "王秀兰", "买买提·艾力", "李建国"),
        "刘芳", ("张桂兰", "吐尔逊·阿吾提"),
    ),
    _Place(
        "heping", "tianshan", "和平南路住宅小区", "乌鲁木齐市天山区和平南路225号",
        480, "2023年第一批", 43.780143, 87.622318,
        ("古丽米拉·阿不都拉", "张桂英", "陈志刚"),
        "阿孜古丽·买买提", ("李淑芬",),
    ),
    _Place(
        "yanan", "tianshan", "延安路西巷小区", "乌鲁木齐市天山区延安路西巷6号",
        312, "2023年第二批", 43.772406, 87.640215,
        ("热娜·吐尔逊", "赵淑珍", "艾克拜尔·吾斯曼"),
    ),
    _Place(
        "youhao", "saybagh", "友好北路小区", "乌鲁木齐市沙依巴克区友好北路689号",
        856, "2023年第一批", 43.823710, 87.585342,
        ("努尔古丽·沙吾提", "孙德明", "刘玉梅"),
        "吴晓燕", ("阿不都克力木·依明",),
    ),
    _Place(
        "tielu", "saybagh", "西北路铁路家属院", "乌鲁木齐市沙依巴克区西北路1048号",
        540, "2023年第二批", 43.815627, 87.570211,
        ("帕丽达·热合曼", "杨永红"),
    ),
    _Place(
        "dianli", "xinshi", "北京南路电力小区", "乌鲁木齐市新市区北京南路376号",
        1120, "2023年第一批", 43.863248, 87.567105,
        ("米日古丽·阿木提", "周淑芬", "马福贵"),
    ),
    _Place(
        "tuman", "kashi", "吐曼河畔小区", "喀什市吐曼路52号",
        402, "2023年第一批", 39.476315, 75.995208,
        ("阿卜杜拉·吐尔逊", "阿依努尔·卡德尔", "吐尔逊娜依·艾买提"),
        "麦麦提江·阿不都热依木", ("热比古丽·托乎提",),
    ),
    _Place(
        "renmin", "kashi", "人民东路小区", "喀什市人民东路118号",
        268, "2023年第二批", 39.468104, 75.998731,
        ("艾尔肯·买买提明", "祖丽胡玛尔·阿布力孜"),
    ),
    _Place(
        "jiefang", "yining", "解放路花园小区", "伊宁市解放路312号",
        736, "2023年第一批", 43.910522, 81.323814,
        ("叶尔江·努尔兰", "古丽巴哈尔·吐尔洪", "马兰花"),
        "哈丽达·别克", ("马秀英",),
    ),
    _Place(
        "mianfang", "aksu_city", "新华西路棉纺厂家属院", "阿克苏市新华西路41号",
        358, "2023年第二批", 41.167840, 80.260117,
        ("王建军", "阿曼古丽·肉孜"),
        "木合塔尔·热西提", ("依明·卡斯木",),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class _Provider:
    key: str
    kind: OrganizationKind
    name: str
    county: str
    dispatcher: str
    technicians: tuple[str, ...]
    serves: tuple[str, ...]


PROVIDERS = (
    _Provider(
        "yiju", OrganizationKind.property_company, "乌鲁木齐天山宜居物业服务有限公司",
        "tianshan", "张丽", ("艾尔肯·吐尔逊", "刘强", "阿不都瓦依提·卡哈尔"),
        ("xingfu", "heping", "yanan"),
    ),
    _Provider(
        "youhao", OrganizationKind.property_company, "乌鲁木齐友好物业管理有限公司",
        "saybagh", "孙丽娟", ("买买提江·热合曼", "赵刚"), ("youhao", "tielu"),
    ),
    _Provider(
        "antai", OrganizationKind.property_company, "乌鲁木齐新市区安泰物业服务有限公司",
        "xinshi", "李红梅", ("阿迪力·吐尔逊", "陈伟"), ("dianli",),
    ),
    _Provider(
        "gucheng", OrganizationKind.property_company, "喀什古城物业服务有限公司",
        "kashi", "阿不都热合曼·买买提", ("努尔麦麦提·艾海提", "王磊"),
        ("tuman", "renmin"),
    ),
    _Provider(
        "huimin", OrganizationKind.property_company, "伊宁市惠民物业管理有限公司",
        "yining", "马晓燕", ("叶尔兰·哈力木",), ("jiefang",),
    ),
    _Provider(
        "yikang", OrganizationKind.care_provider, "乌鲁木齐颐康居家养老服务中心",
        "tianshan", "周敏", ("帕提古丽·艾买提", "王淑华"),
        ("xingfu", "heping", "youhao", "dianli"),
    ),
    _Provider(
        "xiyang", OrganizationKind.care_provider, "喀什市夕阳红社区养老服务中心",
        "kashi", "热依拉·吾甫尔", ("阿娜尔古丽·吐尔洪",), ("tuman",),
    ),
)  # fmt: skip

# Where no provider serves, the department sends elderly-care requests to one nearby.
ADMIN_FALLBACK = {"yanan": "yikang", "tielu": "yikang", "renmin": "xiyang"}
_SERVICE_OF = {
    OrganizationKind.property_company: ServiceKind.property,
    OrganizationKind.care_provider: ServiceKind.elderly_care,
}
# 统一社会信用代码: registering authority and type (91 company, 52 private
# non-enterprise unit), then the organisation code's usual first two characters.
_CODE_PREFIX = {
    OrganizationKind.property_company: ("91", "MA"),
    OrganizationKind.care_provider: ("52", "MJ"),
}

# --- what people write --------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    title: str
    description: str
    priority: Priority | None = None
    public: bool = False


X, U, L = Priority.emergency, Priority.urgent, Priority.low
TEXTS: dict[str, tuple[_Text, ...]] = {
    "repair.plumbing": (
        _Text("厨房下水道堵塞", "厨房洗菜池下水很慢，今天早上完全堵住了，用了疏通剂也没用。"),
        _Text("卫生间水管漏水", "卫生间洗手盆下面的水管接头一直滴水，楼下邻居说天花板有水印。"),
        _Text(
            "楼道主水管渗水", "2单元一楼楼道主水管的保温层湿了，地面有积水，怕冬天结冰。",
            public=True,
        ),
    ),
    "repair.electrical": (
        _Text("开电暖器就跳闸", "晚上一开电暖器就跳闸，空开合不上，家里有老人怕冷。"),
        _Text("电表箱有焦糊味", "单元门口电表箱有焦糊味，刚才看到冒火花。", X, public=True),
    ),
    "repair.elevator": (
        _Text(
            "电梯门关不严", "电梯关门时反复弹开，要按好几次才能关上，老人坐着害怕。", public=True
        ),
        _Text("电梯困人", "电梯停在5楼和6楼之间，里面有人被困，已按紧急按钮。", X, public=True),
    ),
    "repair.roof_leak": (
        _Text("顶楼屋面渗水", "屋面改造后下雨还是渗水，卧室墙角发霉。"),
        _Text("外墙保温层鼓包", "北面外墙保温层有一块鼓包，担心大风天脱落砸人。", U, public=True),
    ),
    "repair.doors_locks": (
        _Text("单元门禁失灵", "单元门禁刷卡没反应，门一直开着关不上。", public=True),
        _Text("防盗门锁打不开", "防盗门锁芯卡住，钥匙拧不动，人在门外进不去。", U),
    ),
    "repair.heating": (
        _Text("暖气片不热", "供暖开始后卧室暖气片上半截是凉的，室温只有14度。"),
        _Text("暖气阀门漏水", "客厅暖气片阀门处漏热水，地板已经泡了。", X),
        _Text("顶楼几户暖气不热", "顶楼几户暖气都不热，家里老人孩子冻得受不了。", public=True),
    ),
    "public.cleaning": (
        _Text("楼道没人打扫", "3单元楼道一周没人打扫，楼梯上有垃圾和烟头。", public=True),
        _Text("楼道小广告", "改造后刚粉刷的楼道墙面又贴满了小广告。", L, public=True),
    ),
    "public.greening": (
        _Text("树枝遮挡窗户", "楼前榆树的树枝伸到二楼窗户，挡光还招虫子，麻烦修剪。", public=True),
    ),
    "public.lighting": (
        _Text("楼道感应灯不亮", "3楼到5楼的感应灯坏了，晚上上楼摸黑，老人容易摔。", public=True),
        _Text("小区路灯不亮", "小区东门到6号楼的路灯有三盏不亮。", public=True),
    ),
    "public.waste": (
        _Text("垃圾桶满了没清运", "西门垃圾收集点的垃圾桶满了两天没清运，有异味。", public=True),
        _Text("建筑垃圾堆在绿地", "有住户装修的建筑垃圾堆在楼下绿地上一周了。", public=True),
    ),
    "security.safety": (
        _Text("消防通道被占用", "1号楼后面的消防通道被几辆车长期占用。", public=True),
        _Text("电动车推进楼道充电", "有住户把电动车推进楼道充电，很危险。", public=True),
    ),
    "security.parking": (
        _Text("车位被外来车辆占用", "我的车位连续几天被外来车辆占用，联系不上车主。", public=True),
    ),
    "neighbour.noise": (
        _Text("夜间装修噪音", "楼上住户晚上十点以后还在用电钻施工，影响休息。"),
        _Text("广场舞音响太响", "晚上广场舞音响声音很大，一直到十点多。", public=True),
    ),
    "neighbour.dispute": (
        _Text("楼上漏水渗到我家", "楼上卫生间漏水渗到我家天花板，楼上住户不愿意处理，请协调。"),
        _Text("楼道堆放杂物纠纷", "对门邻居在楼道里堆放纸箱和旧家具，沟通多次不清理。"),
    ),
    "complaint.property_service": (
        _Text("报修多次没人上门", "暖气不热报修三次了，每次都说会来人，一直没人上门。"),
        _Text("保洁形同虚设", "保洁一周来一次，垃圾经常堆着，物业也不管。"),
    ),
    "complaint.fees": (
        _Text("物业费收费不透明", "今年物业费涨了，没有公示收费标准和明细。"),
        _Text("停车费重复收取", "已经交了停车管理费，门岗又要收临时停车费。"),
    ),
    "complaint.staff_conduct": (
        _Text("维修人员态度差", "上门维修的师傅态度很差，还让我自己去买配件。"),
    ),
    "elderly.meal": (
        _Text("独居老人送餐", "老人腿脚不便，希望每天中午送一份午餐到家，要少盐、清真。"),
        _Text("预约助餐点午餐", "想给父亲预约社区助餐点的午餐，每周一到周五。"),
    ),
    "elderly.bathing": (
        _Text("上门助浴", "老人行动不便，家里卫生间没有扶手，需要上门助浴服务。"),
    ),
    "elderly.cleaning": (
        _Text("独居老人家里打扫", "老人独居，家里很久没打扫了，需要上门打扫卫生。"),
    ),
    "elderly.emergency": (
        _Text("老人在家摔倒", "独居老人在家摔倒起不来，邻居听到呼救，已拨打120，请派人协助。"),
        _Text("紧急呼叫器报警", "老人的紧急呼叫器报警，电话打不通，请马上上门查看。"),
    ),
    "elderly.medical": (
        _Text("陪同去医院复查", "老人下周二要去医院复查，子女在外地，需要有人陪同。"),
        _Text("代取降压药", "老人每月要去社区卫生服务中心取降压药，希望有人代取。"),
    ),
    "elderly.mobility": (
        _Text("轮椅助行", "老人出院后要坐轮椅，想申请助行服务，天气好时推下楼晒晒太阳。"),
    ),
    "elderly.visit": (
        _Text("独居老人几天没下楼", "楼里的独居老人最近几天没有下楼，请安排上门看看。"),
        _Text("申请定期探访", "90岁独居老人，请安排每周一次上门探访。", L),
    ),
}  # fmt: skip

RESOLVE_NOTES = {
    TicketKind.property: ("已更换损坏部件，试用正常。", "已处理完毕，现场已清理。"),
    TicketKind.complaint: ("已向住户说明情况并整改，住户表示理解。", "已约谈相关人员并整改。"),
    TicketKind.elderly_care: ("已上门服务，老人状态良好。", "服务已完成，已告知家属。"),
}
CONFIRM_COMMENTS = {
    5: ("师傅很专业，来得也快。", ["及时", "专业"]),
    4: ("解决了，就是等得有点久。", ["已解决"]),
    3: ("第二次才弄好。", ["返工"]),
    2: ("勉强解决，态度一般。", ["态度"]),
    1: ("拖了很久才处理，很不满意。", ["拖延", "态度"]),
}
ASKS = ("师傅大概什么时候能来？", "家里有老人，麻烦尽快处理，谢谢。", "下午我都在家。")
REPLIES = ("已电话联系住户，约好明天上午十点上门。", "已到现场查看，需要准备工具，稍后处理。")
INTERNAL_NOTES = ("配件需要从仓库调拨，预计两天到货。", "该楼栋上月报修过同类问题，注意排查。")
FOLLOW_UP_NOTES = {
    True: "电话回访，住户对处理结果满意。",
    False: "回访时住户反映仍有问题，已安排复查。",
}
HOLD_NOTES = {
    "awaiting_parts": "需要更换阀门，配件在路上。",
    "awaiting_resident": "住户不在家，约定周末上门。",
}

# --- how tickets go -----------------------------------------------------------

# A step: (action, who does it, hours after the previous step, parameter).
# Comments and follow-ups happen on some tickets only (see _OPTIONAL).
Step = tuple[str, str, tuple[float, float], str | None]
_DISPATCH: Step = ("assign", "dispatcher", (0.1, 1.5), None)
_ACCEPT: Step = ("accept", "tech", (0.1, 1.5), None)
_START: Step = ("start", "tech", (0.5, 5.0), None)
_RESOLVE: Step = ("resolve", "tech", (0.5, 6.0), None)
_CONFIRM: Step = ("confirm", "reporter", (2.0, 36.0), None)
_REOPEN: Step = ("reopen", "reporter", (6.0, 30.0), None)
_HOLD_PARTS: Step = ("hold", "tech", (0.5, 3.0), "awaiting_parts")
_FOLLOW: Step = ("follow_up", "dispatcher", (4.0, 48.0), None)
_ASK: Step = ("comment", "reporter", (0.2, 3.0), "public")
_REPLY: Step = ("comment", "tech", (0.1, 2.0), "public")
_NOTE: Step = ("comment", "dispatcher", (0.1, 2.0), "internal")
_OPTIONAL = {"comment": 0.6, "follow_up": 0.8}

PATHS: dict[str, tuple[Status, tuple[Step, ...]]] = {
    "new": (Status.assigned, ()),
    "dispatched": (Status.assigned, (_DISPATCH, _ASK)),
    "unserved": (Status.submitted, ()),
    "returned": (Status.submitted, (("return", "dispatcher", (0.3, 4.0), None),)),
    "accepted": (Status.accepted, (_DISPATCH, _ACCEPT, _REPLY)),
    "in_progress": (Status.in_progress, (_DISPATCH, _ACCEPT, _REPLY, _START)),
    "reopened": (Status.in_progress, (_ACCEPT, _START, _RESOLVE, _REOPEN)),
    "on_hold_parts": (Status.on_hold, (_DISPATCH, _ACCEPT, _START, _HOLD_PARTS, _NOTE)),
    "on_hold_resident": (
        Status.on_hold,
        (_ACCEPT, ("hold", "tech", (0.5, 4.0), "awaiting_resident")),
    ),
    "resolved": (Status.resolved, (_DISPATCH, _ACCEPT, _START, _RESOLVE)),
    "closed": (Status.closed, (_DISPATCH, _ACCEPT, _START, _RESOLVE, _CONFIRM, _FOLLOW)),
    "closed_after_hold": (
        Status.closed,
        (
            _ACCEPT,
            _START,
            _HOLD_PARTS,
            _NOTE,
            ("resume", "tech", (20.0, 60.0), None),
            _RESOLVE,
            _CONFIRM,
        ),
    ),
    # Nobody confirms; the nightly auto-close closes it without a rating.
    "closed_auto": (
        Status.closed,
        (_DISPATCH, _ACCEPT, _START, _RESOLVE, ("follow_up", "admin", (2.0, 30.0), None)),
    ),
    "closed_reopened": (
        Status.closed,
        (
            _ACCEPT,
            _START,
            _RESOLVE,
            _REOPEN,
            ("resolve", "tech", (2.0, 20.0), None),
            ("confirm", "reporter", (2.0, 24.0), "3"),
            _FOLLOW,
        ),
    ),
    # No provider serves: the department sends it to one nearby.
    "admin_assigned": (
        Status.closed,
        (
            ("assign", "admin", (1.0, 20.0), None),
            _DISPATCH,
            _ACCEPT,
            _START,
            _RESOLVE,
            _CONFIRM,
            ("follow_up", "admin", (4.0, 48.0), None),
        ),
    ),
    "cancelled": (Status.cancelled, (("cancel", "reporter", (0.2, 8.0), None),)),
    "cancelled_after_accept": (
        Status.cancelled,
        (_ACCEPT, ("cancel", "reporter", (1.0, 12.0), None)),
    ),
    "cancelled_by_admin": (Status.cancelled, (("cancel", "admin", (2.0, 30.0), None),)),
    "rejected": (Status.rejected, (("reject", "admin", (1.0, 20.0), None),)),
    "duplicate": (Status.rejected, (("reject", "admin", (0.5, 3.0), None),)),
}
# The generated part of the demo (the showcase tickets come on top).
RANDOM_PATHS = (
    ("new", 3), ("dispatched", 2), ("unserved", 3), ("returned", 2), ("accepted", 4),
    ("in_progress", 3), ("reopened", 1), ("on_hold_parts", 2), ("on_hold_resident", 2),
    ("resolved", 4), ("closed", 6), ("closed_after_hold", 1), ("closed_auto", 3),
    ("closed_reopened", 1), ("admin_assigned", 1), ("cancelled", 2),
    ("cancelled_after_accept", 1), ("cancelled_by_admin", 1), ("rejected", 2),
)  # fmt: skip
_OPEN_PATHS = {
    "new", "dispatched", "unserved", "returned", "accepted", "in_progress", "reopened",
    "on_hold_parts", "on_hold_resident",
}  # fmt: skip
# Emergencies are answered within minutes, low-priority requests within a day or so.
_PACE = {Priority.emergency: 0.15, Priority.urgent: 0.4, Priority.normal: 1.0, Priority.low: 2.5}
_PACED = {"accept", "start", "resolve"}
_KIND_WEIGHTS: dict[TicketKind, float] = {
    TicketKind.property: 60,
    TicketKind.elderly_care: 25,
    TicketKind.complaint: 15,
}


# --- the clock ----------------------------------------------------------------


class _Clock:
    """What `utcnow()` answers while the demo replays its timeline."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@contextmanager
def _replaying(clock: _Clock) -> Iterator[_Clock]:
    with db.clock_override(clock):
        yield clock


# --- building the world -------------------------------------------------------


@dataclass
class _World:
    province: Region
    regions: dict[str, Region] = field(default_factory=dict)
    communities: dict[str, Community] = field(default_factory=dict)
    places: dict[str, _Place] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    serving: dict[tuple[str, ServiceKind], str] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    residents: dict[str, list[str]] = field(default_factory=dict)
    elderly: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    grid: dict[str, str] = field(default_factory=dict)
    dispatcher: dict[str, str] = field(default_factory=dict)
    technicians: dict[str, list[str]] = field(default_factory=dict)

    def admin_for(self, community: str) -> str:
        return COUNTY_ADMIN if self.places[community].county == "tianshan" else PROVINCE_ADMIN

    def serves(self, community: str, kind: TicketKind) -> str | None:
        return self.serving.get((community, service_kind_for(kind)))


def _principal(session: Session, user: User) -> Principal:
    region = session.get(Region, user.region_id) if user.region_id is not None else None
    return Principal(
        user_id=user.id,
        role=user.role,
        name=user.name,
        community_id=user.community_id,
        organization_id=user.organization_id,
        org_role=user.org_role,
        region_id=user.region_id,
        region_path=region.path if region else None,
    )


def _add_user(session: Session, world: _World, epoch: dt.datetime, **fields: Any) -> User:
    """A user as the first token with these claims would provision it."""
    user = User(created_at=epoch, updated_at=epoch, **fields)
    session.add(user)
    session.flush()
    world.users[user.sub] = user
    world.principals[user.sub] = _principal(session, user)
    return user


class _Phones:
    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set[str]()

    def _unique(self, make: Callable[[], str]) -> str:
        number = make()
        while number in self.used:
            number = make()
        self.used.add(number)
        return number

    def mobile(self) -> str:
        rng = self.rng
        return self._unique(
            lambda: f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
        )

    def landline(self, area: str) -> str:
        return self._unique(lambda: f"{area}{self.rng.randint(2_000_000, 8_999_999)}")


def _credit_code(rng: random.Random, provider: _Provider, division: str) -> str:
    authority, org_prefix = _CODE_PREFIX[provider.kind]
    body = "".join(rng.choice(ALPHABET) for _ in range(7))
    first17 = f"{authority}{division}{org_prefix}{body}"
    return first17 + check_character(first17)


def _build_world(
    session: Session, settings: Settings, rng: random.Random, epoch: dt.datetime
) -> _World:
    phones = _Phones(rng)
    admin = User(sub=PROVINCE_ADMIN, role=Role.admin, name="古丽娜尔·艾山", created_at=epoch)
    admin.updated_at = epoch
    session.add(admin)
    session.flush()
    root = _principal(session, admin)

    province = create_region(session, root, RegionCreate(name=PROVINCE, level=RegionLevel.province))
    world = _World(province=province)
    world.users[admin.sub], world.principals[admin.sub] = admin, root
    area_code = {}
    for key, name, area in PREFECTURES:
        world.regions[key] = create_region(
            session,
            root,
            RegionCreate(name=name, level=RegionLevel.prefecture, parent_id=province.id),
        )
        area_code[key] = area
    division = {}
    for key, prefecture, name, code in COUNTIES:
        world.regions[key] = create_region(
            session,
            root,
            RegionCreate(
                name=name, level=RegionLevel.county, parent_id=world.regions[prefecture].id
            ),
        )
        area_code[key] = area_code[prefecture]
        division[key] = code
    for region in world.regions.values():
        region.created_at = epoch
    province.created_at = epoch
    _add_user(
        session,
        world,
        epoch,
        sub=COUNTY_ADMIN,
        role=Role.admin,
        name="王海涛",
        region_id=world.regions["tianshan"].id,
    )

    for place in COMMUNITIES:
        households = place.households
        community = create_community(
            session,
            root,
            CommunityCreate(
                name=place.name,
                region_id=world.regions[place.county].id,
                address=place.address,
                households=households,
                residents=int(households * rng.uniform(2.3, 3.1)),
                renovation_year=2023,
                renovation_batch=place.batch,
                latitude=place.latitude,
                longitude=place.longitude,
            ),
        )
        community.created_at = community.updated_at = epoch
        world.communities[place.key] = community
        world.places[place.key] = place
        world.residents[place.key] = []
        for number, name in enumerate(place.residents, start=1):
            user = _add_user(
                session,
                world,
                epoch,
                sub=f"demo-resident-{place.key}-{number}",
                role=Role.resident,
                name=name,
                phone=phones.mobile(),
                community_id=community.id,
            )
            world.residents[place.key].append(user.sub)
        if place.grid_worker:
            user = _add_user(
                session,
                world,
                epoch,
                sub=f"demo-grid-{place.key}",
                role=Role.grid_worker,
                name=place.grid_worker,
                community_id=community.id,
            )
            world.grid[place.key] = user.sub
        world.elderly[place.key] = [
            (name, phones.landline(area_code[place.county])) for name in place.elderly
        ]

    for provider in PROVIDERS:
        organization = create_organization(
            session,
            root,
            OrganizationCreate(
                name=provider.name,
                kind=provider.kind,
                credit_code=_credit_code(rng, provider, division[provider.county]),
                contact_phone=phones.landline(area_code[provider.county]),
                region_id=world.regions[provider.county].id,
            ),
        )
        organization.created_at = organization.updated_at = epoch
        world.organizations[provider.key] = organization
        service_kind = _SERVICE_OF[provider.kind]
        since = SERVING_SINCE
        for community_key in provider.serves:
            assignment = assign_provider(
                session,
                root,
                world.communities[community_key],
                service_kind,
                ProviderAssign(organization_id=organization.id, since=since),
                timezone=settings.timezone,
            )
            assignment.created_at = epoch
            world.serving[(community_key, service_kind)] = provider.key
        staff = [(f"demo-{provider.key}-dispatcher", OrgRole.dispatcher, provider.dispatcher)]
        staff += [
            (f"demo-{provider.key}-tech-{number}", OrgRole.technician, name)
            for number, name in enumerate(provider.technicians, start=1)
        ]
        for sub, org_role, name in staff:
            _add_user(
                session,
                world,
                epoch,
                sub=sub,
                role=Role.provider_staff,
                name=name,
                organization_id=organization.id,
                org_role=org_role,
            )
        world.dispatcher[provider.key] = staff[0][0]
        world.technicians[provider.key] = [sub for sub, _, _ in staff[1:]]
    session.flush()
    return world


# --- planning the tickets -----------------------------------------------------


@dataclass
class _Story:
    key: str
    path: str
    community: str
    category: str
    kind: TicketKind
    text: _Text
    filer: str
    reporter: str  # who confirms, cancels, reopens: the resident, or the grid worker
    channel: Channel
    on_behalf_of: tuple[str, str] | None
    contact_phone: str | None
    location: dict[str, str] | None
    preferred: tuple[dt.datetime, dt.datetime] | None
    organization: str | None
    tech: str | None
    admin: str
    created_at: dt.datetime
    steps: list[tuple[dt.datetime, Step]] = field(default_factory=list)
    duplicate_of: str | None = None
    ticket_id: int | None = None

    @property
    def expected(self) -> Status:
        return PATHS[self.path][0]


class _Planner:
    def __init__(
        self, rng: random.Random, world: _World, settings: Settings, now: dt.datetime
    ) -> None:
        self.rng, self.world, self.settings, self.now = rng, world, settings, now
        self.zone = ZoneInfo(settings.timezone)
        self.stories: list[_Story] = []
        self._text_turn: dict[str, int] = {}
        self._kinds = {code: kind for code, kind, *_ in _leaf_categories()}

    def _text(self, category: str) -> _Text:
        texts = TEXTS[category]
        turn = self._text_turn.get(category, self.rng.randrange(len(texts)))
        self._text_turn[category] = turn + 1
        return texts[turn % len(texts)]

    def _created_at(self, path: str, days_ago: float | None) -> dt.datetime:
        rng, close_days = self.rng, self.settings.auto_close_days
        if days_ago is None:
            if path == "resolved":
                days_ago = rng.uniform(0.3, max(0.5, min(3.0, close_days / 2)))
            elif path == "closed_auto":
                days_ago = rng.uniform(close_days + 5, close_days + 30)
            elif path in _OPEN_PATHS:
                days_ago = rng.uniform(0.1, 5.0) if rng.random() < 0.8 else rng.uniform(5, 20)
            else:
                days_ago = rng.uniform(2.0, 40.0)
        moment = self.now - dt.timedelta(days=days_ago)
        if days_ago < 1:
            return moment
        # People file during the day, local time.
        local = moment.astimezone(self.zone)
        start_of_day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = (start_of_day + dt.timedelta(hours=rng.uniform(8.0, 21.5))).astimezone(dt.UTC)
        return moment if moment < self.now - dt.timedelta(hours=1) else moment - dt.timedelta(1)

    def _schedule(self, story: _Story, priority: Priority) -> None:
        rng, moment, planned = self.rng, story.created_at, []
        for step in PATHS[story.path][1]:
            action, _, (low, high), _ = step
            if action in _OPTIONAL and rng.random() > _OPTIONAL[action]:
                continue
            hours = rng.uniform(low, high) * (_PACE[priority] if action in _PACED else 1.0)
            if action in ("confirm", "reopen"):
                # The reporter answers before the nightly auto-close would.
                hours = min(hours, self.settings.auto_close_days * 24 / 2)
            moment += dt.timedelta(hours=max(hours, 0.02))
            planned.append((moment, step))
        latest = self.now - dt.timedelta(minutes=rng.uniform(3, 30))
        if planned and planned[-1][0] > latest:
            # Squeeze a timeline that would run into the future into the time there was.
            scale = (latest - story.created_at) / (planned[-1][0] - story.created_at)
            planned = [(story.created_at + (at - story.created_at) * scale, s) for at, s in planned]
        story.steps = planned

    def add(
        self,
        path: str,
        community: str,
        category: str,
        *,
        filer: str | None = None,
        days_ago: float | None = None,
        duplicate_of: str | None = None,
        text: _Text | None = None,
    ) -> _Story:
        rng, world = self.rng, self.world
        kind = self._kinds[category]
        text = text or self._text(category)
        organization = world.serves(community, kind)
        if path == "admin_assigned":
            organization = ADMIN_FALLBACK[community]
        filer = filer or self._pick_filer(community, kind, organization, path)
        filer_user = world.users[filer]
        on_behalf_of, reporter = None, filer
        if filer_user.role == Role.grid_worker:
            on_behalf_of = rng.choice(world.elderly[community])
            channel = Channel.walk_in
        elif filer_user.role == Role.provider_staff:
            reporter = rng.choice(world.residents[community])
            resident = world.users[reporter]
            assert resident.phone is not None
            on_behalf_of = (resident.name, resident.phone)
            channel = Channel.phone
        else:
            channel = rng.choice((Channel.app, Channel.app, Channel.wechat))
        contact = on_behalf_of[1] if on_behalf_of else filer_user.phone
        location = preferred = None
        created_at = self._created_at(path, days_ago)
        if kind != TicketKind.complaint:
            location = {"building": f"{rng.randint(1, 12)}号楼", "area": "public"}
            if not text.public:
                floor = rng.randint(1, 6)
                location.update(
                    unit=f"{rng.randint(1, 4)}单元", room=f"{floor}0{rng.randint(1, 4)}"
                )
                location["area"] = "private"
                if rng.random() < 0.3:
                    day = (created_at.astimezone(self.zone) + dt.timedelta(days=1)).replace(
                        hour=10, minute=0, second=0, microsecond=0
                    )
                    preferred = (day, day + dt.timedelta(hours=2))
        category_priority = _leaf_priority(category)
        story = _Story(
            key=f"t{len(self.stories) + 1:02d}",
            path=path,
            community=community,
            category=category,
            kind=kind,
            text=text,
            filer=filer,
            reporter=reporter,
            channel=channel,
            on_behalf_of=on_behalf_of,
            contact_phone=contact,
            location=location,
            preferred=preferred,
            organization=organization,
            tech=rng.choice(world.technicians[organization]) if organization else None,
            admin=world.admin_for(community),
            created_at=created_at,
            duplicate_of=duplicate_of,
        )
        self._schedule(story, text.priority or category_priority)
        self.stories.append(story)
        return story

    def _pick_filer(
        self, community: str, kind: TicketKind, organization: str | None, path: str
    ) -> str:
        rng, world = self.rng, self.world
        roll = rng.random()
        grid_share = 0.55 if kind == TicketKind.elderly_care else 0.12
        if community in world.grid and world.elderly[community] and roll < grid_share:
            return world.grid[community]
        phone_in = organization and path not in ("unserved", "admin_assigned", "returned")
        if phone_in and kind != TicketKind.complaint and roll > 0.85:
            assert organization is not None
            return world.dispatcher[organization]
        return rng.choice(world.residents[community])

    def add_random(self, path: str) -> _Story:
        rng, world = self.rng, self.world
        while True:
            if path == "returned":
                category = rng.choice(("neighbour.dispute", "neighbour.noise"))
            elif path == "admin_assigned":
                category = rng.choice(("elderly.meal", "elderly.cleaning", "elderly.visit"))
            else:
                kind = rng.choices(list(_KIND_WEIGHTS), list(_KIND_WEIGHTS.values()))[0]
                category = rng.choice([c for c, k in self._kinds.items() if k == kind])
            kind = self._kinds[category]
            if path == "admin_assigned":
                candidates = [c for c in ADMIN_FALLBACK if not world.serves(c, kind)]
            elif path == "unserved":
                candidates = [c for c in world.communities if not world.serves(c, kind)]
            else:
                candidates = [c for c in world.communities if world.serves(c, kind)]
            if candidates:
                return self.add(path, rng.choice(candidates), category)


def _leaf_categories() -> list[tuple[str, TicketKind, Priority]]:
    return [(code, kind, priority) for code, kind, priority, *_ in CATEGORY_TREE if code in TEXTS]


def _leaf_priority(category: str) -> Priority:
    return next(p for code, _, p in _leaf_categories() if code == category)


def _plan(rng: random.Random, world: _World, settings: Settings, now: dt.datetime) -> list[_Story]:
    planner = _Planner(rng, world, settings, now)
    aygul, wang = world.residents["xingfu"][0], world.residents["xingfu"][1]
    # Showcase tickets for the people whose tokens the summary prints.
    planner.add("resolved", "xingfu", "repair.heating", filer=aygul, days_ago=1.2)
    planner.add("closed", "xingfu", "repair.plumbing", filer=aygul, days_ago=12)
    planner.add("dispatched", "xingfu", "public.lighting", filer=aygul, days_ago=0.4)
    planner.add("new", "xingfu", "repair.doors_locks", filer=wang, days_ago=0.06)
    planner.add("accepted", "xingfu", "elderly.meal", filer=world.grid["xingfu"], days_ago=0.5)
    # Two neighbours report the same broken lift; the district rejects the second.
    lift = TEXTS["repair.elevator"][0]
    first = planner.add("in_progress", "heping", "repair.elevator", days_ago=0.7, text=lift)
    planner.add(
        "duplicate",
        "heping",
        "repair.elevator",
        filer=next(s for s in world.residents["heping"] if s != first.filer),
        days_ago=0.68,
        duplicate_of=first.key,
        text=lift,
    )
    for path, count in RANDOM_PATHS:
        for _ in range(count):
            planner.add_random(path)
    return planner.stories


# --- replaying them -----------------------------------------------------------


class _Replay:
    def __init__(self, session: Session, settings: Settings, world: _World, rng: random.Random):
        self.session, self.settings, self.world, self.rng = session, settings, world, rng
        self.tickets: dict[str, int] = {}

    def create(self, story: _Story) -> None:
        text = story.text
        body: dict[str, Any] = {
            "category": story.category,
            "community_id": self.world.communities[story.community].id,
            "title": text.title,
            "description": text.description,
            "priority": text.priority,
            "channel": story.channel,
            "contact_phone": story.contact_phone,
            "location": story.location,
        }
        if story.on_behalf_of:
            body["on_behalf_of"] = {"name": story.on_behalf_of[0], "phone": story.on_behalf_of[1]}
        if story.preferred:
            body["preferred_time"] = {"from": story.preferred[0], "to": story.preferred[1]}
        ticket = create_ticket(
            self.session,
            self.world.principals[story.filer],
            TicketCreate.model_validate(body),
            timezone=self.settings.timezone,
        )
        assert isinstance(ticket, Ticket)  # no idempotency claim: never a replay
        story.ticket_id = self.tickets[story.key] = ticket.id

    def act(self, story: _Story, step: Step) -> None:
        action, actor, _, parameter = step
        world, rng = self.world, self.rng
        assert story.ticket_id is not None
        sub = {
            "reporter": story.reporter,
            "tech": story.tech,
            "admin": story.admin,
            "dispatcher": world.dispatcher[story.organization] if story.organization else None,
        }[actor]
        assert sub is not None, (story.key, step)
        principal = world.principals[sub]
        ticket = get_visible_ticket(self.session, principal, story.ticket_id)
        if action == "comment":
            bodies = {"reporter": ASKS, "tech": REPLIES, "dispatcher": INTERNAL_NOTES}[actor]
            add_comment(
                self.session,
                principal,
                ticket,
                CommentCreate(body=rng.choice(bodies), internal=parameter == "internal"),
            )
            return
        if action == "follow_up":
            satisfied = rng.random() < 0.85
            add_follow_up(
                self.session,
                principal,
                ticket,
                FollowUpCreate(
                    method=rng.choice((FollowUpMethod.phone, FollowUpMethod.visit)),
                    satisfied=satisfied,
                    note=FOLLOW_UP_NOTES[satisfied],
                ),
            )
            return
        perform(
            self.session,
            principal,
            ticket,
            action,
            self._body(story, action, actor, parameter),
            reopen_window=dt.timedelta(days=self.settings.reopen_window_days),
            timezone=self.settings.timezone,
        )

    def _body(self, story: _Story, action: str, actor: str, parameter: str | None) -> Any:
        rng, world = self.rng, self.world
        if action == "assign":
            if actor == "admin":
                assert story.organization is not None
                return AssignBody(organization_id=world.organizations[story.organization].id)
            assert story.tech is not None
            return AssignBody(assignee_id=world.users[story.tech].id)
        if action == "hold":
            assert parameter is not None
            return HoldBody.model_validate({"reason": parameter, "note": HOLD_NOTES[parameter]})
        if action == "resolve":
            return ResolveBody(note=rng.choice(RESOLVE_NOTES[story.kind]))
        if action == "confirm":
            rating = int(parameter) if parameter else rng.choices((5, 4, 3, 2), (55, 30, 10, 5))[0]
            comment, tags = CONFIRM_COMMENTS[rating]
            return ConfirmBody(rating=rating, comment=comment, tags=tags)
        if action == "reopen":
            return ReasonBody(reason="处理后第二天问题又出现了。")
        if action == "cancel":
            if actor == "admin":
                return OptionalReasonBody(reason="住户来电说明已自行解决，代为撤销。")
            return OptionalReasonBody(reason=rng.choice(("问题已经自己解决了。", "重复提交了。")))
        if action == "return":
            return ReasonBody(reason="邻里纠纷不属于物业服务范围，请社区居委会调解。")
        if action == "reject":
            if story.duplicate_of:
                return RejectBody(
                    reason="与已受理的工单重复。", duplicate_of=self.tickets[story.duplicate_of]
                )
            return RejectBody(reason="经核实不属于本平台受理范围，已告知住户相关渠道。")
        return EmptyBody()


def _replay(
    session: Session,
    settings: Settings,
    world: _World,
    stories: list[_Story],
    rng: random.Random,
    now: dt.datetime,
) -> None:
    replay = _Replay(session, settings, world, rng)
    agenda: list[tuple[dt.datetime, int, Callable[[], Any]]] = []
    for story in stories:
        agenda.append((story.created_at, len(agenda), partial(replay.create, story)))
        for at, step in story.steps:
            agenda.append((at, len(agenda), partial(replay.act, story, step)))
    # The nightly auto-close, at three in the morning local time.
    zone = ZoneInfo(settings.timezone)
    first = min(story.created_at for story in stories)
    night = first.astimezone(zone).replace(hour=3, minute=0, second=0, microsecond=0)
    older_than = dt.timedelta(days=settings.auto_close_days)
    while night < now:
        if night > first:
            sweep = partial(auto_close_resolved, session, older_than=older_than, now=night)
            agenda.append((night.astimezone(dt.UTC), len(agenda), sweep))
        night += dt.timedelta(days=1)
    agenda.sort(key=lambda item: (item[0], item[1]))

    with _replaying(_Clock(agenda[0][0])) as clock:
        for at, _, happen in agenda:
            clock.now = at
            happen()
    session.flush()

    for story in stories:
        ticket = session.get(Ticket, story.ticket_id)
        assert ticket is not None
        if ticket.status != story.expected:
            raise RuntimeError(
                f"demo ticket {ticket.number} ({story.path}) ended {ticket.status}, "
                f"expected {story.expected}: the lifecycle changed, update service/sample/"
            )


# --- three years of history, written in bulk -----------------------------------

# The three-year action's start (its default in service/metrics/action.py).
ACTION_START = dt.date(2024, 1, 1)
WORLD_EPOCH = dt.date(2023, 11, 1)
SERVING_SINCE = dt.date(2023, 12, 1)
# The history ends this many days before today; the stories tell the weeks since.
# A whole number of days: the same seed gives the same history all day long.
HISTORY_GAP_DAYS = 45
# Tickets a day at the action's start and at its end (adoption grows).
DAILY_TICKETS = (1.6, 3.4)
# Response and resolution targets by priority (wall-clock seconds; the live
# tickets get theirs from the SLA policies).
TARGETS = {
    Priority.emergency: (15 * 60, 4 * 3600),
    Priority.urgent: (30 * 60, 24 * 3600),
    Priority.normal: (2 * 3600, 3 * 86400),
    Priority.low: (24 * 3600, 7 * 86400),
}


@dataclass(frozen=True)
class _Quality:
    """How an organisation serves at the action's start and at its end (linear in
    between): the shares of responses and of resolutions on time, the mean of its
    ratings and the share of closed tickets it follows up; how often its work is
    reopened, and how much more than elsewhere its residents complain."""

    respond: tuple[float, float]
    resolve: tuple[float, float]
    mood: tuple[float, float]
    follow_up: tuple[float, float]
    reopen: float
    complaints: float


def _at(pair: tuple[float, float], progress: float) -> float:
    return pair[0] + (pair[1] - pair[0]) * progress


QUALITY = {
    # the red list's: fast, liked, follows everything up
    "yiju": _Quality((0.93, 0.98), (0.90, 0.97), (4.5, 4.8), (0.85, 0.95), 0.02, 0.6),
    "youhao": _Quality((0.82, 0.90), (0.78, 0.88), (4.0, 4.3), (0.60, 0.80), 0.04, 1.0),
    "antai": _Quality((0.74, 0.84), (0.70, 0.80), (3.8, 4.1), (0.50, 0.70), 0.05, 1.2),
    # the one the action turned round
    "gucheng": _Quality((0.50, 0.93), (0.45, 0.90), (3.0, 4.5), (0.30, 0.85), 0.06, 1.5),
    # the black list's: slow, disliked, complained about
    "huimin": _Quality((0.50, 0.55), (0.42, 0.50), (2.8, 3.0), (0.15, 0.25), 0.12, 2.2),
    "yikang": _Quality((0.90, 0.96), (0.88, 0.95), (4.4, 4.7), (0.80, 0.90), 0.02, 1.0),
    "xiyang": _Quality((0.70, 0.85), (0.70, 0.82), (3.9, 4.3), (0.50, 0.70), 0.04, 1.0),
}
# History residents: one account for about this many households.
HOUSEHOLDS_PER_ACCOUNT = 25
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "马", "周", "孙")
_GIVEN = ("秀英", "建华", "桂芝", "志强", "玉兰", "国庆", "丽", "军", "红梅", "德胜")
_UYGHUR = ("阿依古丽", "买买提", "古丽娜", "艾力", "热依汗", "吐尔逊", "努尔", "帕提曼", "迪丽")
_FATHERS = ("艾买提", "阿不都拉", "吾斯曼", "热合曼", "卡德尔", "托乎提", "依明", "沙吾提")
UNSERVED_REASON = "本小区尚无该项服务的服务企业，已转社区居委会协调。"
DUPLICATE_REASON = "与已受理的工单重复。"


def _history_names(rng: random.Random, count: int) -> list[str]:
    names = []
    for _ in range(count):
        if rng.random() < 0.55:
            names.append(f"{rng.choice(_UYGHUR)}·{rng.choice(_FATHERS)}")
        else:
            names.append(rng.choice(_SURNAMES) + rng.choice(_GIVEN))
    return names


def _new_ids(session: Session, table: Any, count: int) -> list[int]:
    """`count` fresh ids of `table`, in increasing order: from the sequence on
    PostgreSQL, after the largest on SQLite (one writer at a time)."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))"
            " FROM generate_series(1, :n)"
        )
        return sorted(session.scalars(query, {"n": count}))
    first = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


@dataclass(frozen=True)
class _Filed:
    """What a history ticket was filed as, by whom."""

    community: str
    category: str
    kind: TicketKind
    priority: Priority
    text: _Text
    created: dt.datetime
    filer: User
    reporter: User
    on_behalf_of: tuple[str, str] | None
    channel: Channel


class _History:
    """Builds the history's rows: tickets, follow-ups and events, in memory."""

    def __init__(
        self, session: Session, settings: Settings, world: _World, rng: random.Random
    ) -> None:
        self.session, self.settings, self.world, self.rng = session, settings, world, rng
        self.zone = ZoneInfo(settings.timezone)
        self.tickets: list[dict[str, Any]] = []
        self.follow_ups: list[dict[str, Any]] = []
        # per ticket, its events in time order; a follow-up's event names its index
        self.events: list[list[dict[str, Any]]] = []
        self.accounts: dict[str, list[User]] = {}
        leaves = _leaf_categories()
        self.categories = {
            kind: [(code, priority) for code, k, priority in leaves if k == kind]
            for kind in TicketKind
        }
        self.category_ids = dict(
            session.execute(
                select(Category.code, Category.id).where(Category.code.in_(list(TEXTS)))
            ).all()
        )

    def add_accounts(self, phones: _Phones) -> None:
        """Residents who filed the history's tickets (the showcase residents keep
        the stories); one account for about HOUSEHOLDS_PER_ACCOUNT households."""
        world = self.world
        for key, place in world.places.items():
            count = max(3, place.households // HOUSEHOLDS_PER_ACCOUNT)
            users = [
                User(
                    sub=f"demo-resident-{key}-h{number}",
                    role=Role.resident,
                    name=name,
                    phone=phones.mobile(),
                    community_id=world.communities[key].id,
                    created_at=world.users[PROVINCE_ADMIN].created_at,
                    updated_at=world.users[PROVINCE_ADMIN].created_at,
                )
                for number, name in enumerate(_history_names(self.rng, count), start=1)
            ]
            self.session.add_all(users)
            self.accounts[key] = users
        self.session.flush()

    def plan(self, first_day: dt.date, last_day: dt.date) -> None:
        """Tickets filed on each day of [first_day, last_day), more as the action
        goes on and more heating repairs in winter."""
        rng = self.rng
        communities = list(self.world.places)
        weights = [
            self.world.places[c].households * (1.0 if self._served(c) else 0.3) for c in communities
        ]
        action_days = (ACTION_START.replace(year=ACTION_START.year + 3) - ACTION_START).days
        day = first_day
        while day < last_day:
            progress = min(1.0, (day - ACTION_START).days / action_days)
            for _ in range(int(_at(DAILY_TICKETS, progress) + rng.random())):
                community = rng.choices(communities, weights)[0]
                local = dt.datetime.combine(day, dt.time(), self.zone) + dt.timedelta(
                    hours=rng.uniform(8.0, 21.5)
                )
                self._ticket(community, local.astimezone(dt.UTC), progress)
            day += dt.timedelta(days=1)

    def _served(self, community: str) -> bool:
        return self.world.serves(community, TicketKind.property) is not None

    def _kind_and_category(self, community: str, month: int) -> tuple[TicketKind, str, Priority]:
        rng, world = self.rng, self.world
        property_org = world.serves(community, TicketKind.property)
        weights = dict(_KIND_WEIGHTS)
        weights[TicketKind.complaint] *= QUALITY[property_org].complaints if property_org else 1
        while True:
            kind = rng.choices(list(weights), list(weights.values()))[0]
            if (
                kind == TicketKind.elderly_care
                and not world.serves(community, kind)
                and community not in ADMIN_FALLBACK
                and rng.random() < 0.8
            ):
                continue  # few ask for a service nobody offers here
            break
        options = self.categories[kind]
        winter = month in (11, 12, 1, 2)
        summer = month in (5, 6, 7, 8, 9)
        heat = 4.0 if winter else 0.2 if summer else 1.0
        code, priority = rng.choices(
            options, [heat if c == "repair.heating" else 1.0 for c, _ in options]
        )[0]
        return kind, code, priority

    def _ticket(self, community: str, created: dt.datetime, progress: float) -> None:
        rng, world = self.rng, self.world
        kind, category, priority = self._kind_and_category(
            community, created.astimezone(self.zone).month
        )
        text_ = rng.choice(TEXTS[category])
        priority = text_.priority or priority
        respond_in, resolve_in = TARGETS[priority]
        organization = world.serves(community, kind)
        admin_assigns = organization is None and community in ADMIN_FALLBACK
        if admin_assigns:
            organization = ADMIN_FALLBACK[community]
        place = world.places[community]
        filer = reporter = rng.choice(self.accounts[community])
        on_behalf_of: tuple[str, str] | None = None
        channel = rng.choice((Channel.app, Channel.app, Channel.wechat, Channel.phone))
        elderly = kind == TicketKind.elderly_care and community in world.grid and place.elderly
        if elderly and rng.random() < 0.5:
            # The grid worker files, and confirms, for an elderly neighbour.
            filer = reporter = world.users[world.grid[community]]
            on_behalf_of = rng.choice(world.elderly[community])
            channel = Channel.walk_in
        filed = _Filed(
            community,
            category,
            kind,
            priority,
            text_,
            created,
            filer,
            reporter,
            on_behalf_of,
            channel,
        )
        index = len(self.tickets)
        events: list[dict[str, Any]] = []
        org_id = world.organizations[organization].id if organization else None
        admin = world.users[world.admin_for(community)]

        def event(
            at: dt.datetime,
            type_: str,
            actor: User | None,
            before: Status | None,
            after: Status | None,
            data: dict[str, Any] | None = None,
            org: int | None = org_id,
        ) -> None:
            events.append(
                {
                    "type": type_,
                    "actor_id": actor.id if actor else None,
                    "from_status": before,
                    "to_status": after,
                    "organization_id": org,
                    "internal": False,
                    "data": data or {},
                    "created_at": at,
                }
            )

        first_status = Status.assigned if org_id and not admin_assigns else Status.submitted
        event(
            created,
            "ticket.created",
            filer,
            None,
            first_status,
            {"category": category, "priority": str(priority), "channel": str(channel)},
            org=None if admin_assigns else org_id,
        )
        row: dict[str, Any] = {
            "status": first_status,
            "organization_id": None if admin_assigns else org_id,
            "assignee_id": None,
            "respond_by": created + dt.timedelta(seconds=respond_in),
            "resolve_by": created + dt.timedelta(seconds=resolve_in),
            "responded_at": None,
            "resolved_at": None,
            "closed_at": None,
            "response_breached": False,
            "resolution_breached": False,
            "rating": None,
            "rating_comment": None,
            "rating_tags": None,
            "reopen_count": 0,
            "sla_clock_started_at": created,
        }
        now = created
        if org_id is None:
            # Nobody serves this community for this work.
            now += dt.timedelta(hours=rng.uniform(1.0, 30.0))
            if rng.random() < 0.75:
                event(
                    now,
                    "ticket.rejected",
                    admin,
                    Status.submitted,
                    Status.rejected,
                    {"reason": UNSERVED_REASON},
                )
                row["status"] = Status.rejected
            else:
                event(
                    now,
                    "ticket.cancelled",
                    reporter,
                    Status.submitted,
                    Status.cancelled,
                    {"reason": "问题已经自己解决了。"},
                )
                row["status"] = Status.cancelled
            self._finish(filed, now, row, events)
            return
        assert organization is not None
        quality = QUALITY[organization]
        dispatcher = world.users[world.dispatcher[organization]]
        tech = world.users[rng.choice(world.technicians[organization])]
        if admin_assigns:
            now += dt.timedelta(hours=rng.uniform(0.3, 6.0))
            event(
                now,
                "ticket.assigned",
                admin,
                Status.submitted,
                Status.assigned,
                {"organization_id": org_id},
            )
            row["organization_id"] = org_id
        # Responded (accepted) within the target or late, as the company goes.
        on_time = rng.random() < _at(quality.respond, progress)
        response = respond_in * (rng.uniform(0.1, 0.9) if on_time else rng.uniform(1.15, 3.5))
        accepted = created + dt.timedelta(seconds=response)
        accepted = max(accepted, now + dt.timedelta(minutes=2))
        fate = rng.random()
        if fate < 0.045:
            # Cancelled by the resident, or rejected as a duplicate, before anyone came.
            now += (accepted - now) * rng.uniform(0.2, 0.8)
            if fate < 0.03:
                event(
                    now,
                    "ticket.cancelled",
                    reporter,
                    Status.assigned,
                    Status.cancelled,
                    {"reason": "问题已经自己解决了。"},
                )
                row["status"] = Status.cancelled
            else:
                event(
                    now,
                    "ticket.rejected",
                    admin,
                    Status.assigned,
                    Status.rejected,
                    {"reason": DUPLICATE_REASON},
                )
                row["status"] = Status.rejected
            self._finish(filed, now, row, events)
            return
        dispatched = now + (accepted - now) * rng.uniform(0.1, 0.7)
        event(
            dispatched,
            "ticket.dispatched",
            dispatcher,
            Status.assigned,
            Status.assigned,
            {"organization_id": org_id, "assignee_id": tech.id},
        )
        row["assignee_id"] = tech.id
        if accepted > row["respond_by"]:
            event(
                row["respond_by"],
                "ticket.sla_breached",
                None,
                None,
                None,
                {"clock": "response", "due_at": row["respond_by"].isoformat()},
            )
            row["response_breached"] = True
        event(accepted, "ticket.accepted", tech, Status.assigned, Status.accepted)
        row["responded_at"] = accepted
        started = accepted + dt.timedelta(minutes=rng.uniform(10, 180) * _PACE[priority])
        event(started, "ticket.started", tech, Status.accepted, Status.in_progress)
        on_time = rng.random() < _at(quality.resolve, progress)
        due = row["resolve_by"]
        if on_time and due > started + dt.timedelta(minutes=20):
            resolved = started + (due - started) * rng.uniform(0.05, 0.9)
        else:
            resolved = max(due, started) + dt.timedelta(
                seconds=resolve_in * rng.uniform(0.05, 1.5) + 600
            )
        if resolved > due:
            event(
                due,
                "ticket.sla_breached",
                None,
                None,
                None,
                {"clock": "resolution", "due_at": due.isoformat()},
            )
            row["resolution_breached"] = True
        late = row["response_breached"] or row["resolution_breached"]
        note = rng.choice(RESOLVE_NOTES[kind])
        event(
            resolved,
            "ticket.resolved",
            tech,
            Status.in_progress,
            Status.resolved,
            {"note": note, "attachment_ids": []},
        )
        mood = _at(quality.mood, progress) - (0.9 if late else 0.0)
        if rng.random() < quality.reopen:
            reopened = resolved + dt.timedelta(hours=rng.uniform(6, 48))
            event(
                reopened,
                "ticket.reopened",
                reporter,
                Status.resolved,
                Status.in_progress,
                {"reason": "处理后第二天问题又出现了。"},
            )
            # Reopening restarts the resolution clock, as service/sla/clock.py does.
            row["resolve_by"] = reopened + dt.timedelta(seconds=resolve_in)
            row["sla_clock_started_at"] = reopened
            resolved = reopened + dt.timedelta(seconds=resolve_in * rng.uniform(0.05, 0.8))
            event(
                resolved,
                "ticket.resolved",
                tech,
                Status.in_progress,
                Status.resolved,
                {"note": note, "attachment_ids": []},
            )
            row["reopen_count"] = 1
            mood -= 1.2
        row["resolved_at"] = resolved
        close_days = self.settings.auto_close_days
        if rng.random() < 0.72:
            closed = resolved + dt.timedelta(hours=rng.uniform(1, close_days * 12))
            rating = max(1, min(5, round(rng.gauss(mood, 0.8))))
            comment, tags = CONFIRM_COMMENTS[rating]
            event(
                closed,
                "ticket.confirmed",
                reporter,
                Status.resolved,
                Status.closed,
                {"rating": rating, "comment": comment, "tags": tags},
            )
            row.update(rating=rating, rating_comment=comment, rating_tags=tags)
        else:
            closed = resolved + dt.timedelta(days=close_days, hours=rng.uniform(0, 24))
            event(
                closed,
                "ticket.closed",
                None,
                Status.resolved,
                Status.closed,
                {"reason": "auto_close"},
            )
        row["status"], row["closed_at"], now = Status.closed, closed, closed
        if rng.random() < _at(quality.follow_up, progress):
            satisfied = (row["rating"] or mood) >= 3.5 or rng.random() < 0.2
            now = closed + dt.timedelta(hours=rng.uniform(2, 72))
            method = rng.choice((FollowUpMethod.phone, FollowUpMethod.phone, FollowUpMethod.visit))
            self.follow_ups.append(
                {
                    "ticket_index": index,
                    "method": method,
                    "satisfied": satisfied,
                    "note": FOLLOW_UP_NOTES[satisfied],
                    "created_by_id": dispatcher.id,
                    "organization_id": org_id,
                    "created_at": now,
                }
            )
            event(
                now,
                "ticket.followed_up",
                dispatcher,
                None,
                None,
                {
                    "follow_up": len(self.follow_ups) - 1,
                    "method": str(method),
                    "satisfied": satisfied,
                },
            )
        self._finish(filed, closed, row, events)

    def _finish(
        self, filed: _Filed, updated: dt.datetime, row: dict[str, Any], events: list[dict[str, Any]]
    ) -> None:
        rng, world = self.rng, self.world
        building = unit = room = area = None
        community, on_behalf_of, reporter = filed.community, filed.on_behalf_of, filed.reporter
        if filed.kind != TicketKind.complaint:
            building, area = f"{rng.randint(1, 12)}号楼", LocationArea.public
            if not filed.text.public:
                unit, area = f"{rng.randint(1, 4)}单元", LocationArea.private
                room = f"{rng.randint(1, 6)}0{rng.randint(1, 4)}"
        # A breach is noticed at its deadline, which may come before the step
        # that missed it was planned: the timeline is put in time order.
        events.sort(key=lambda e: e["created_at"])
        changes = sum(1 for e in events if e["to_status"] is not None)
        self.tickets.append(
            {
                **row,
                "kind": filed.kind,
                "category_id": self.category_ids[filed.category],
                "priority": filed.priority,
                "community_id": world.communities[community].id,
                "region_path": world.communities[community].region_path,
                "reporter_id": None if on_behalf_of else reporter.id,
                "reporter_name": on_behalf_of[0] if on_behalf_of else reporter.name,
                "filed_by_id": filed.filer.id,
                "on_behalf_of_name": on_behalf_of[0] if on_behalf_of else None,
                "on_behalf_of_phone": on_behalf_of[1] if on_behalf_of else None,
                "channel": filed.channel,
                "title": filed.text.title,
                "description": filed.text.description,
                "building": building,
                "unit": unit,
                "room": room,
                "area": area,
                "contact_phone": on_behalf_of[1] if on_behalf_of else reporter.phone,
                "attachment_ids": [],
                "paused_seconds": 0,
                "created_at": filed.created,
                "updated_at": updated,
                "version": changes,
            }
        )
        self.events.append(events)

    def write(self) -> None:
        """Everything, in bulk: ids first, so that events can name them."""
        session, tz = self.session, self.settings.timezone
        ticket_ids = _new_ids(session, Ticket.__table__, len(self.tickets))
        for ticket_id, row in zip(ticket_ids, self.tickets, strict=True):
            row["id"] = ticket_id
            row["number"] = ticket_number(ticket_id, row["created_at"], tz)
        follow_up_ids = _new_ids(session, FollowUp.__table__, len(self.follow_ups))
        follow_ups = []
        for follow_up_id, follow_up in zip(follow_up_ids, self.follow_ups, strict=True):
            ticket_index = follow_up.pop("ticket_index")
            follow_ups.append(
                {**follow_up, "id": follow_up_id, "ticket_id": ticket_ids[ticket_index]}
            )
        events = []
        for ticket_id, timeline in zip(ticket_ids, self.events, strict=True):
            for event in timeline:
                if "follow_up" in event["data"]:
                    data = dict(event["data"])
                    data["follow_up_id"] = follow_up_ids[data.pop("follow_up")]
                    event = {**event, "data": data}
                events.append({**event, "ticket_id": ticket_id})
        event_ids = _new_ids(session, TicketEvent.__table__, len(events))
        for event_id, event in zip(event_ids, events, strict=True):
            event["id"] = event_id
        session.execute(insert(cast(Table, Ticket.__table__)), self.tickets)
        if follow_ups:
            session.execute(insert(cast(Table, FollowUp.__table__)), follow_ups)
        session.execute(insert(cast(Table, TicketEvent.__table__)), events)


def _history(
    session: Session,
    settings: Settings,
    world: _World,
    phones: _Phones,
    rng: random.Random,
    today: dt.date,
) -> int:
    """The tickets of the action so far, until HISTORY_GAP_DAYS before today."""
    history = _History(session, settings, world, rng)
    history.add_accounts(phones)
    history.plan(ACTION_START, today - dt.timedelta(days=HISTORY_GAP_DAYS))
    history.write()
    return len(history.tickets)


# --- the summary --------------------------------------------------------------


# The commands printed work as printed, from any directory, venv active or not:
# the interpreter that runs this one.
CLI = f"{shlex.quote(sys.executable)} -m service"


def _token_command(user: User) -> str:
    parts = [f"{CLI} token", f"--role {user.role}", f"--sub {user.sub}"]
    parts.append(f"--name {shlex.quote(user.name)}")
    if user.phone:
        parts.append(f"--phone {user.phone}")
    if user.community_id is not None:
        parts.append(f"--community-id {user.community_id}")
    if user.organization_id is not None:
        parts.append(f"--organization-id {user.organization_id} --org-role {user.org_role}")
    if user.region_id is not None:
        parts.append(f"--region-id {user.region_id}")
    return " ".join(parts)


SHOWCASE = (
    ("demo-resident-xingfu-1", "resident; confirm her resolved heating repair"),
    ("demo-grid-xingfu", "grid worker; files for elderly neighbours"),
    ("demo-yiju-dispatcher", "dispatcher of the property company; dispatch the new tickets"),
    ("demo-yiju-tech-1", "technician of the property company"),
    ("demo-yikang-dispatcher", "dispatcher of the elderly-care provider"),
    (COUNTY_ADMIN, "admin of 天山区"),
    (PROVINCE_ADMIN, "admin of the whole province"),
)


def _how_to_act(session: Session) -> list[str]:
    users = {
        user.sub: user
        for user in session.scalars(select(User).where(User.sub.in_([s for s, _ in SHOWCASE])))
    }
    if not users:
        return []
    lines = [
        "",
        "Act as a demo user (each token maps to the seeded user with that sub; keep the"
        " name and phone so the user is not updated):",
    ]
    for sub, role in SHOWCASE:
        if sub in users:
            lines.append(f"  # {users[sub].name}, {role}")
            lines.append(f"  {_token_command(users[sub])}")
    dispatcher = users.get("demo-yiju-dispatcher")
    if dispatcher is not None:
        lines.append("  # an API key for the property company's dispatch system")
        lines.append(f"  {CLI} api-key create --organization-id {dispatcher.organization_id}")
    lines += [
        "Then, with the server running (make run):",
        f"  export LINLI_TOKEN=$({CLI} token ...)",
        '  curl -s -H "Authorization: Bearer $LINLI_TOKEN" http://127.0.0.1:8000/v1/tickets',
    ]
    return lines


def _summary(session: Session, world: _World, seed: int) -> list[str]:
    prefix = world.province.path
    in_demo = Ticket.region_path.startswith(prefix, autoescape=True)
    by_status = dict(
        session.execute(
            select(Ticket.status, func.count()).where(in_demo).group_by(Ticket.status)
        ).all()
    )
    by_kind = dict(
        session.execute(
            select(Ticket.kind, func.count()).where(in_demo).group_by(Ticket.kind)
        ).all()
    )
    comments = session.scalar(
        select(func.count()).select_from(TicketComment).join(Ticket).where(in_demo)
    )
    follow_ups = session.scalar(
        select(func.count()).select_from(FollowUp).join(Ticket).where(in_demo)
    )
    first, rated, breached = session.execute(
        select(
            func.min(Ticket.created_at),
            func.count(Ticket.rating),
            func.count().filter(Ticket.response_breached | Ticket.resolution_breached),
        ).where(in_demo)
    ).one()
    roles: dict[str, int] = {}
    for user in world.users.values():
        roles[str(user.role)] = roles.get(str(user.role), 0) + 1
    companies = sum(1 for p in PROVIDERS if p.kind == OrganizationKind.property_company)
    return [
        f"Linli demo data loaded (seed {seed}):",
        f"  regions: 1 province ({PROVINCE}), {len(PREFECTURES)} prefectures,"
        f" {len(COUNTIES)} counties/districts",
        f"  communities: {len(world.communities)} (renovated 2023, batches 第一批/第二批)",
        f"  organisations: {companies} property companies,"
        f" {len(PROVIDERS) - companies} elderly-care providers,"
        f" {len(world.serving)} provider assignments",
        "  people by role: " + ", ".join(f"{role} {roles.get(str(role), 0)}" for role in Role),
        f"  tickets: {sum(by_status.values())} ("
        + ", ".join(f"{by_kind.get(kind, 0)} {kind}" for kind in TicketKind)
        + ")",
        "    by status: " + ", ".join(f"{status} {by_status.get(status, 0)}" for status in Status),
        f"    since {first:%Y-%m-%d}: {rated} rated, {breached} past an SLA deadline,"
        f" {by_kind.get(TicketKind.complaint, 0)} complaints",
        f"    comments: {comments}, follow-up visits: {follow_ups}",
    ]


def seed_demo(session: Session, settings: Settings, *, seed: int = 7) -> list[str]:
    """Load the demo data set (once); returns the lines to print."""
    if session.scalar(select(User.id).where(User.sub == PROVINCE_ADMIN)) is not None:
        return ["The demo data is already loaded; nothing added.", *_how_to_act(session)]
    clash = session.scalar(
        select(Region.id).where(Region.level == RegionLevel.province, Region.name == PROVINCE)
    )
    if clash is not None:
        # Real data: the demo's people and tickets would mix with real ones.
        return [
            f"A region {PROVINCE} (id {clash}) exists that the demo did not create;"
            " load the demo into an empty database. Nothing added."
        ]
    load_reference_tree(session)
    rng = random.Random(seed)
    now = db.utcnow()
    zone = ZoneInfo(settings.timezone)
    epoch = dt.datetime.combine(WORLD_EPOCH, dt.time(), zone).astimezone(dt.UTC)
    world = _build_world(session, settings, rng, epoch=epoch)
    # The history draws from a generator of its own: the stories stay as they were.
    history_rng = random.Random(seed * 7919 + 1)
    today = now.astimezone(zone).date()
    _history(session, settings, world, _Phones(history_rng), history_rng, today)
    stories = _plan(rng, world, settings, now)
    _replay(session, settings, world, stories, rng, now)
    return _summary(session, world, seed) + _how_to_act(session)
