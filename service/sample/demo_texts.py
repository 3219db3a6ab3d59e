"""What the demo's people write: ticket titles and descriptions by category,
and the notes, comments and reasons of the steps that follow."""

from __future__ import annotations

from dataclasses import dataclass

from service.categories.tree import CATEGORY_TREE
from service.enums import Priority, TicketKind


@dataclass(frozen=True)
class Text:
    title: str
    description: str
    priority: Priority | None = None
    public: bool = False


X, U, L = Priority.emergency, Priority.urgent, Priority.low
TEXTS: dict[str, tuple[Text, ...]] = {
    "repair.plumbing": (
        Text("厨房下水道堵塞", "厨房洗菜池下水很慢，今天早上完全堵住了，用了疏通剂也没用。"),
        Text("卫生间水管漏水", "卫生间洗手盆下面的水管接头一直滴水，楼下邻居说天花板有水印。"),
        Text(
            "楼道主水管渗水", "2单元一楼楼道主水管的保温层湿了，地面有积水，怕冬天结冰。",
            public=True,
        ),
    ),
    "repair.electrical": (
        Text("开电暖器就跳闸", "晚上一开电暖器就跳闸，空开合不上，家里有老人怕冷。"),
        Text("电表箱有焦糊味", "单元门口电表箱有焦糊味，刚才看到冒火花。", X, public=True),
    ),
    "repair.elevator": (
        Text(
            "电梯门关不严", "电梯关门时反复弹开，要按好几次才能关上，老人坐着害怕。", public=True
        ),
        Text("电梯困人", "电梯停在5楼和6楼之间，里面有人被困，已按紧急按钮。", X, public=True),
    ),
    "repair.roof_leak": (
        Text("顶楼屋面渗水", "屋面改造后下雨还是渗水，卧室墙角发霉。"),
        Text("外墙保温层鼓包", "北面外墙保温层有一块鼓包，担心大风天脱落砸人。", U, public=True),
    ),
    "repair.doors_locks": (
        Text("单元门禁失灵", "单元门禁刷卡没反应，门一直开着关不上。", public=True),
        Text("防盗门锁打不开", "防盗门锁芯卡住，钥匙拧不动，人在门外进不去。", U),
    ),
    "repair.heating": (
        Text("暖气片不热", "供暖开始后卧室暖气片上半截是凉的，室温只有14度。"),
        Text("暖气阀门漏水", "客厅暖气片阀门处漏热水，地板已经泡了。", X),
        Text("顶楼几户暖气不热", "顶楼几户暖气都不热，家里老人孩子冻得受不了。", public=True),
    ),
    "public.cleaning": (
        Text("楼道没人打扫", "3单元楼道一周没人打扫，楼梯上有垃圾和烟头。", public=True),
        Text("楼道小广告", "改造后刚粉刷的楼道墙面又贴满了小广告。", L, public=True),
    ),
    "public.greening": (
        Text("树枝遮挡窗户", "楼前榆树的树枝伸到二楼窗户，挡光还招虫子，麻烦修剪。", public=True),
    ),
    "public.lighting": (
        Text("楼道感应灯不亮", "3楼到5楼的感应灯坏了，晚上上楼摸黑，老人容易摔。", public=True),
        Text("小区路灯不亮", "小区东门到6号楼的路灯有三盏不亮。", public=True),
    ),
    "public.waste": (
        Text("垃圾桶满了没清运", "西门垃圾收集点的垃圾桶满了两天没清运，有异味。", public=True),
        Text("建筑垃圾堆在绿地", "有住户装修的建筑垃圾堆在楼下绿地上一周了。", public=True),
    ),
    "security.safety": (
        Text("消防通道被占用", "1号楼后面的消防通道被几辆车长期占用。", public=True),
        Text("电动车推进楼道充电", "有住户把电动车推进楼道充电，很危险。", public=True),
    ),
    "security.parking": (
        Text("车位被外来车辆占用", "我的车位连续几天被外来车辆占用，联系不上车主。", public=True),
    ),
    "neighbour.noise": (
        Text("夜间装修噪音", "楼上住户晚上十点以后还在用电钻施工，影响休息。"),
        Text("广场舞音响太响", "晚上广场舞音响声音很大，一直到十点多。", public=True),
    ),
    "neighbour.dispute": (
        Text("楼上漏水渗到我家", "楼上卫生间漏水渗到我家天花板，楼上住户不愿意处理，请协调。"),
        Text("楼道堆放杂物纠纷", "对门邻居在楼道里堆放纸箱和旧家具，沟通多次不清理。"),
    ),
    "complaint.property_service": (
        Text("报修多次没人上门", "暖气不热报修三次了，每次都说会来人，一直没人上门。"),
        Text("保洁形同虚设", "保洁一周来一次，垃圾经常堆着，物业也不管。"),
    ),
    "complaint.fees": (
        Text("物业费收费不透明", "今年物业费涨了，没有公示收费标准和明细。"),
        Text("停车费重复收取", "已经交了停车管理费，门岗又要收临时停车费。"),
    ),
    "complaint.staff_conduct": (
        Text("维修人员态度差", "上门维修的师傅态度很差，还让我自己去买配件。"),
    ),
    "elderly.meal": (
        Text("独居老人送餐", "老人腿脚不便，希望每天中午送一份午餐到家，要少盐、清真。"),
        Text("预约助餐点午餐", "想给父亲预约社区助餐点的午餐，每周一到周五。"),
    ),
    "elderly.bathing": (
        Text("上门助浴", "老人行动不便，家里卫生间没有扶手，需要上门助浴服务。"),
    ),
    "elderly.cleaning": (
        Text("独居老人家里打扫", "老人独居，家里很久没打扫了，需要上门打扫卫生。"),
    ),
    "elderly.emergency": (
        Text("老人在家摔倒", "独居老人在家摔倒起不来，邻居听到呼救，已拨打120，请派人协助。"),
        Text("紧急呼叫器报警", "老人的紧急呼叫器报警，电话打不通，请马上上门查看。"),
    ),
    "elderly.medical": (
        Text("陪同去医院复查", "老人下周二要去医院复查，子女在外地，需要有人陪同。"),
        Text("代取降压药", "老人每月要去社区卫生服务中心取降压药，希望有人代取。"),
    ),
    "elderly.mobility": (
        Text("轮椅助行", "老人出院后要坐轮椅，想申请助行服务，天气好时推下楼晒晒太阳。"),
    ),
    "elderly.visit": (
        Text("独居老人几天没下楼", "楼里的独居老人最近几天没有下楼，请安排上门看看。"),
        Text("申请定期探访", "90岁独居老人，请安排每周一次上门探访。", L),
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
REOPEN_REASON = "处理后第二天问题又出现了。"
CANCEL_REASONS = ("问题已经自己解决了。", "重复提交了。")
DUPLICATE_REASON = "与已受理的工单重复。"
UNSERVED_REASON = "本小区尚无该项服务的服务企业，已转社区居委会协调。"


def leaf_categories() -> list[tuple[str, TicketKind, Priority]]:
    """The categories the demo files under: (code, kind, default priority)."""
    return [(code, kind, priority) for code, kind, priority, *_ in CATEGORY_TREE if code in TEXTS]
