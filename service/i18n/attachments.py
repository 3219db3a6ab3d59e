"""Catalogue: photo uploads and their links. code -> (zh-Hans, ug, en)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str, str]] = {
    "attachment.not_a_photo": (
        "这个文件不是本服务接受的照片。",
        "بۇ ھۆججەت مۇلازىمەت قوبۇل قىلىدىغان رەسىم ئەمەس.",
        "The file is not a photo this service accepts.",
    ),
    "attachment.not_an_image": (
        "不是 JPEG、PNG、WebP 或 HEIC 图片",
        "JPEG، PNG، WebP ياكى HEIC رەسىمى ئەمەس",
        "not a JPEG, PNG, WebP or HEIC image",
    ),
    "attachment.damaged": (
        "图片数据损坏或不完整",
        "رەسىم سانلىق مەلۇماتى بۇزۇلغان ياكى تولۇق ئەمەس",
        "the image data is damaged or incomplete",
    ),
    "attachment.too_many_pixels": (
        "图片像素过多，最多 {max_pixels} 像素。",
        "رەسىمنىڭ پىكسېلى بەك كۆپ، ئەڭ كۆپ بولغاندا {max_pixels} پىكسېل.",
        "The image has too many pixels; at most {max_pixels} are accepted.",
    ),
    "attachment.too_large": (
        "照片最大 {limit} 字节。",
        "رەسىم ئەڭ چوڭ بولغاندا {limit} بايت بولىدۇ.",
        "A photo is limited to {limit} bytes.",
    ),
    "attachment.not_multipart": (
        "请以 multipart/form-data 上传照片，字段名为 file。",
        "رەسىمنى multipart/form-data شەكلىدە، file ناملىق مەيدان بىلەن يوللاڭ.",
        "Send the photo as multipart/form-data, field `file`.",
    ),
    "attachment.empty": ("文件是空的。", "ھۆججەت قۇرۇق.", "The file is empty."),
    "attachment.unknown": (
        "您没有编号为 {id} 的待关联上传，未做任何操作。",
        "سىزنىڭ {id} نومۇرلۇق باغلىنىشنى ساقلاۋاتقان يوللانمىڭىز يوق، ھېچ ئىش قىلىنمىدى.",
        "No upload {id} of yours is waiting to be attached; nothing was done.",
    ),
    "attachment.unknown_id": ("未知附件 {id}", "نامەلۇم قوشۇمچە {id}", "unknown attachment {id}"),
    "attachment.not_found": (
        "没有编号为 {id} 的附件。",
        "{id} نومۇرلۇق قوشۇمچە يوق.",
        "No attachment {id}.",
    ),
}
