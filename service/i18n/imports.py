"""Catalogue: imports of the renovation list and its people (service/imports).
code -> (zh-Hans, ug, en). No message quotes a cell: elders' cells are sensitive."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "import.rejected": (
        "文件中有 {count} 处错误，未导入任何数据；请修改所列各行后重新导入。",
        "ھۆججەتتە {count} خاتالىق بار، ھېچقانداق سانلىق مەلۇمات كىرگۈزۈلمىدى؛ كۆرسىتىلگەن قۇرلارنى تۈزىتىپ قايتا كىرگۈزۈڭ.",
        "Errors in the file: {count}. Nothing was imported; correct the rows listed and "
        "import it again.",
    ),
    "import.not_multipart": (
        "请以 multipart/form-data 上传文件，字段名为 file。",
        "ھۆججەتنى multipart/form-data شەكلىدە، file ناملىق مەيدان بىلەن يوللاڭ.",
        "Send the spreadsheet as multipart/form-data, field `file`.",
    ),
    "import.row_error": (
        "第 {row} 行「{column}」：",
        "{row}-قۇر «{column}»: ",
        "row {row}, {column}: ",
    ),
    "import.more_errors": (
        "……共 {count} 处错误，以上只列出前 100 处",
        "... جەمئىي {count} خاتالىق، يۇقىرىدا ئالدىنقى 100 ى كۆرسىتىلدى",
        "... {count} errors in all; the first 100 are listed",
    ),
    "import.summary": (
        "已导入：新增 {created}，更新 {updated}，未变 {unchanged}",
        "كىرگۈزۈلدى: يېڭى {created}، يېڭىلاندى {updated}، ئۆزگەرمىدى {unchanged}",
        "imported: {created} created, {updated} updated, {unchanged} unchanged",
    ),
    "import.summary_dry_run": (
        "试运行，未保存任何数据：将新增 {created}，更新 {updated}，未变 {unchanged}",
        "سىناق ئىجرا، ھېچنېمە ساقلانمىدى: يېڭى {created}، يېڭىلىنىدىغىنى {updated}، ئۆزگەرمەيدىغىنى {unchanged}",
        "dry run, nothing stored: would create {created}, update {updated}, leave {unchanged} unchanged",
    ),
    "import.empty": (
        "文件为空：第一行应为表头",
        "ھۆججەت قۇرۇق: بىرىنچى قۇر ماۋزۇ قۇرى بولۇشى كېرەك",
        "the file is empty: its first row should be the headers",
    ),
    "import.encoding": (
        "无法识别文件编码：请保存为 UTF-8 或 GB18030 编码的 CSV，或 XLSX",
        "ھۆججەتنىڭ كودلىنىشىنى تونۇغىلى بولمىدى: UTF-8 ياكى GB18030 كودلۇق CSV ياكى XLSX قىلىپ ساقلاڭ",
        "unknown encoding: save the file as CSV in UTF-8 or GB18030, or as XLSX",
    ),
    "import.unreadable": (
        "无法读取文件：只接受 XLSX 或 CSV",
        "ھۆججەتنى ئوقۇغىلى بولمىدى: پەقەت XLSX ياكى CSV قوبۇل قىلىنىدۇ",
        "the file cannot be read: send XLSX or CSV",
    ),
    "import.too_many_rows": (
        "一次最多导入 {limit} 行，请分成几个文件",
        "بىر قېتىمدا ئەڭ كۆپ بولغاندا {limit} قۇر كىرگۈزگىلى بولىدۇ، بىر قانچە ھۆججەتكە بۆلۈڭ",
        "at most {limit} rows in one import: split the file",
    ),
    "import.unknown_column": (
        "不认识这一列",
        "بۇ ئىستوننى تونۇمايدۇ",
        "unknown column",
    ),
    "import.duplicate_column": (
        "这一列与前面的列重复",
        "بۇ ئىستون ئالدىدىكى ئىستون بىلەن تەكرارلاندى",
        "this column repeats an earlier one",
    ),
    "import.missing_column": (
        "缺少必填的列",
        "چوقۇم بولىدىغان ئىستون يوق",
        "a required column is missing",
    ),
    "import.duplicate_row": (
        "与第 {row} 行重复",
        "{row}-قۇر بىلەن تەكرارلاندى",
        "repeats row {row}",
    ),
    "import.region_unknown": (
        "您的管辖范围内没有这个区域",
        "باشقۇرۇش دائىرىڭىزدە بۇنداق رايون يوق",
        "no such region in your scope",
    ),
    "import.region_ambiguous": (
        "有多个同名区域：请写完整路径（如 新疆维吾尔自治区/乌鲁木齐市/天山区）或编号",
        "ئوخشاش ناملىق بىر قانچە رايون بار: تولۇق يولىنى (مەسىلەن 新疆维吾尔自治区/乌鲁木齐市/天山区) ياكى نومۇرىنى يېزىڭ",
        "several regions have this name: give the path (新疆维吾尔自治区/乌鲁木齐市/天山区) or the id",
    ),
    "import.community_unknown": (
        "您的管辖范围内没有这个小区",
        "باشقۇرۇش دائىرىڭىزدە بۇنداق مەھەللە يوق",
        "no such community in your scope",
    ),
    "import.community_ambiguous": (
        "有多个同名小区：请填写所属区县，或写小区编号",
        "ئوخشاش ناملىق بىر قانچە مەھەللە بار: تەۋە ناھىيەنى ياكى مەھەللە نومۇرىنى يېزىڭ",
        "several communities have this name: give the region or the community's id",
    ),
    "import.organization_unknown": (
        "您的管辖范围内没有这个单位",
        "باشقۇرۇش دائىرىڭىزدە بۇنداق ئورگان يوق",
        "no such organisation in your scope",
    ),
    "import.organization_ambiguous": (
        "有多个同名单位：请写统一社会信用代码",
        "ئوخشاش ناملىق بىر قانچە ئورگان بار: ئىناۋەت كودىنى يېزىڭ",
        "several organisations have this name: give the credit code",
    ),
    "import.elder_ambiguous": (
        "本小区有多位同名服务对象：请填写出生年份以区分",
        "بۇ مەھەللىدە ئوخشاش ئىسىملىك بىر قانچە مۇلازىمەت ئوبيېكتى بار: تۇغۇلغان يىلىنى يېزىڭ",
        "several elders of this community have this name: give the birth year",
    ),
    "import.kind_fixed": (
        "已登记单位的类型不能通过导入更改",
        "تىزىملانغان ئورگاننىڭ تىپىنى كىرگۈزۈش ئارقىلىق ئۆزگەرتكىلى بولمايدۇ",
        "an organisation's kind cannot be changed by an import",
    ),
    "import.region_fixed": (
        "已登记单位的登记区域不能通过导入更改",
        "تىزىملانغان ئورگاننىڭ تىزىملاتقان رايونىنى كىرگۈزۈش ئارقىلىق ئۆزگەرتكىلى بولمايدۇ",
        "the region an organisation is registered in cannot be changed by an import",
    ),
}
