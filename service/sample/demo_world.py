"""The demo's world: its regions, communities and organisations, who serves
whom, and its people (admins, residents, grid workers, providers' staff), as of
WORLD_EPOCH; the directory goes in through the directory's service functions."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from service.auth import Principal, principal_for_user
from service.config import Settings
from service.directory.models import Community, Organization, Region
from service.directory.schemas import ProviderAssign
from service.directory.service import assign_provider
from service.enums import (
    ORGANIZATION_KIND_FOR,
    OrganizationKind,
    OrgRole,
    RegionLevel,
    Role,
    ServiceKind,
    TicketKind,
    service_kind_for,
)
from service.sample.world import REGISTRATION, Directory, credit_code
from service.users.models import User

PROVINCE_ADMIN = "demo-admin-province"
COUNTY_ADMIN = "demo-admin-tianshan"
# When the world was set up, and since when its providers serve.
WORLD_EPOCH = dt.date(2023, 11, 1)
SERVING_SINCE = dt.date(2023, 12, 1)

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
class Place:
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
    Place(
        "xingfu", "tianshan", "幸福路北一巷小区", "乌鲁木齐市天山区幸福路北一巷18号",
        624, "2023年第一批", 43.793512, 87.634906,
        ("阿依古丽·买买提", "王秀兰", "买买提·艾力", "李建国"),
        "刘芳", ("张桂兰", "吐尔逊·阿吾提"),
    ),
    Place(
        "heping", "tianshan", "和平南路住宅小区", "乌鲁木齐市天山区和平南路225号",
        480, "2023年第一批", 43.780143, 87.622318,
        ("古丽米拉·阿不都拉", "张桂英", "陈志刚"),
        "阿孜古丽·买买提", ("李淑芬",),
    ),
    Place(
        "yanan", "tianshan", "延安路西巷小区", "乌鲁木齐市天山区延安路西巷6号",
        312, "2023年第二批", 43.772406, 87.640215,
        ("热娜·吐尔逊", "赵淑珍", "艾克拜尔·吾斯曼"),
    ),
    Place(
        "youhao", "saybagh", "友好北路小区", "乌鲁木齐市沙依巴克区友好北路689号",
        856, "2023年第一批", 43.823710, 87.585342,
        ("努尔古丽·沙吾提", "孙德明", "刘玉梅"),
        "吴晓燕", ("阿不都克力木·依明",),
    ),
    Place(
        "tielu", "saybagh", "西北路铁路家属院", "乌鲁木齐市沙依巴克区西北路1048号",
        540, "2023年第二批", 43.815627, 87.570211,
        ("帕丽达·热合曼", "杨永红"),
    ),
    Place(
        "dianli", "xinshi", "北京南路电力小区", "乌鲁木齐市新市区北京南路376号",
        1120, "2023年第一批", 43.863248, 87.567105,
        ("米日古丽·阿木提", "周淑芬", "马福贵"),
    ),
    Place(
        "tuman", "kashi", "吐曼河畔小区", "喀什市吐曼路52号",
        402, "2023年第一批", 39.476315, 75.995208,
        ("阿卜杜拉·吐尔逊", "阿依努尔·卡德尔", "吐尔逊娜依·艾买提"),
        "麦麦提江·阿不都热依木", ("热比古丽·托乎提",),
    ),
    Place(
        "renmin", "kashi", "人民东路小区", "喀什市人民东路118号",
        268, "2023年第二批", 39.468104, 75.998731,
        ("艾尔肯·买买提明", "祖丽胡玛尔·阿布力孜"),
    ),
    Place(
        "jiefang", "yining", "解放路花园小区", "伊宁市解放路312号",
        736, "2023年第一批", 43.910522, 81.323814,
        ("叶尔江·努尔兰", "古丽巴哈尔·吐尔洪", "马兰花"),
        "哈丽达·别克", ("马秀英",),
    ),
    Place(
        "mianfang", "aksu_city", "新华西路棉纺厂家属院", "阿克苏市新华西路41号",
        358, "2023年第二批", 41.167840, 80.260117,
        ("王建军", "阿曼古丽·肉孜"),
        "木合塔尔·热西提", ("依明·卡斯木",),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Provider:
    key: str
    kind: OrganizationKind
    name: str
    county: str
    dispatcher: str
    technicians: tuple[str, ...]
    serves: tuple[str, ...]


PROVIDERS = (
    Provider(
        "yiju", OrganizationKind.property_company, "乌鲁木齐天山宜居物业服务有限公司",
        "tianshan", "张丽", ("艾尔肯·吐尔逊", "刘强", "阿不都瓦依提·卡哈尔"),
        ("xingfu", "heping", "yanan"),
    ),
    Provider(
        "youhao", OrganizationKind.property_company, "乌鲁木齐友好物业管理有限公司",
        "saybagh", "孙丽娟", ("买买提江·热合曼", "赵刚"), ("youhao", "tielu"),
    ),
    Provider(
        "antai", OrganizationKind.property_company, "乌鲁木齐新市区安泰物业服务有限公司",
        "xinshi", "李红梅", ("阿迪力·吐尔逊", "陈伟"), ("dianli",),
    ),
    Provider(
        "gucheng", OrganizationKind.property_company, "喀什古城物业服务有限公司",
        "kashi", "阿不都热合曼·买买提", ("努尔麦麦提·艾海提", "王磊"),
        ("tuman", "renmin"),
    ),
    Provider(
        "huimin", OrganizationKind.property_company, "伊宁市惠民物业管理有限公司",
        "yining", "马晓燕", ("叶尔兰·哈力木",), ("jiefang",),
    ),
    Provider(
        "yikang", OrganizationKind.care_provider, "乌鲁木齐颐康居家养老服务中心",
        "tianshan", "周敏", ("帕提古丽·艾买提", "王淑华"),
        ("xingfu", "heping", "youhao", "dianli"),
    ),
    Provider(
        "xiyang", OrganizationKind.care_provider, "喀什市夕阳红社区养老服务中心",
        "kashi", "热依拉·吾甫尔", ("阿娜尔古丽·吐尔洪",), ("tuman",),
    ),
)  # fmt: skip

# Where no provider serves, the department sends elderly-care requests to one nearby.
ADMIN_FALLBACK = {"yanan": "yikang", "tielu": "yikang", "renmin": "xiyang"}
_SERVICE_OF = {organization: service for service, organization in ORGANIZATION_KIND_FOR.items()}
# A credit code's organisation code (after the registration and the county's
# division code) usually starts with these two characters.
_ORGANIZATION_CODE_START = {
    OrganizationKind.property_company: "MA",
    OrganizationKind.care_provider: "MJ",
}


# --- building it --------------------------------------------------------------


@dataclass
class DemoWorld:
    province: Region
    regions: dict[str, Region] = field(default_factory=dict)
    communities: dict[str, Community] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)
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


def add_user(session: Session, world: DemoWorld, epoch: dt.datetime, **fields: Any) -> User:
    """A user as the first token with these claims would provision it."""
    user = User(created_at=epoch, updated_at=epoch, **fields)
    session.add(user)
    session.flush()
    world.users[user.sub] = user
    world.principals[user.sub] = principal_for_user(session, user)
    return user


# Names for the people the history needs besides the ones named above.
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "马", "周", "孙")
_GIVEN = ("秀英", "建华", "桂芝", "志强", "玉兰", "国庆", "丽", "军", "红梅", "德胜")
_UYGHUR = ("阿依古丽", "买买提", "古丽娜", "艾力", "热依汗", "吐尔逊", "努尔", "帕提曼", "迪丽")
_FATHERS = ("艾买提", "阿不都拉", "吾斯曼", "热合曼", "卡德尔", "托乎提", "依明", "沙吾提")


def local_names(rng: random.Random, count: int) -> list[str]:
    names = []
    for _ in range(count):
        if rng.random() < 0.55:
            names.append(f"{rng.choice(_UYGHUR)}·{rng.choice(_FATHERS)}")
        else:
            names.append(rng.choice(_SURNAMES) + rng.choice(_GIVEN))
    return names


class Phones:
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


def build_world(
    session: Session, settings: Settings, rng: random.Random, epoch: dt.datetime, province: str
) -> DemoWorld:
    """The world, named `province`, as it was at `epoch`."""
    phones = Phones(rng)
    admin = User(sub=PROVINCE_ADMIN, role=Role.admin, name="古丽娜尔·艾山", created_at=epoch)
    admin.updated_at = epoch
    session.add(admin)
    session.flush()
    root = principal_for_user(session, admin)
    directory = Directory(session, root)

    world = DemoWorld(province=directory.region(province, RegionLevel.province))
    world.users[admin.sub], world.principals[admin.sub] = admin, root
    area_code = {}
    for key, name, area in PREFECTURES:
        world.regions[key] = directory.region(name, RegionLevel.prefecture, world.province)
        area_code[key] = area
    division = {}
    for key, prefecture, name, code in COUNTIES:
        world.regions[key] = directory.region(name, RegionLevel.county, world.regions[prefecture])
        area_code[key] = area_code[prefecture]
        division[key] = code
    for region in world.regions.values():
        region.created_at = epoch
    world.province.created_at = epoch
    add_user(
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
        community = directory.community(
            world.regions[place.county],
            place.name,
            address=place.address,
            households=households,
            residents=int(households * rng.uniform(2.3, 3.1)),
            renovation_year=2023,
            renovation_batch=place.batch,
            latitude=place.latitude,
            longitude=place.longitude,
        )
        community.created_at = community.updated_at = epoch
        world.communities[place.key] = community
        world.places[place.key] = place
        world.residents[place.key] = []
        for number, name in enumerate(place.residents, start=1):
            user = add_user(
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
            user = add_user(
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
        kind = provider.kind
        code_start = REGISTRATION[kind] + division[provider.county] + _ORGANIZATION_CODE_START[kind]
        organization = directory.organization(
            world.regions[provider.county],
            provider.name,
            kind,
            credit_code(rng, code_start),
            phones.landline(area_code[provider.county]),
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
            add_user(
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
