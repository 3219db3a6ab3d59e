"""The dashboard's sign-in page and its notices, in Chinese (the officials'
language), with the English in smaller print for the operators. No script."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape

from fastapi.responses import HTMLResponse

from service.dashboard.sessions import API_CODE_TTL, CLI_CODE_TTL, SESSION_TTL

STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;
max-width:42em;margin:3em auto;padding:0 1em;color:#222;line-height:1.6}
h1{font-size:22px}h2{font-size:16px;margin-top:1.6em}
.notice{border-left:4px solid #c0392b;background:#fdf1f0;padding:8px 12px}
textarea{width:100%;font-family:monospace;font-size:12px}
button{font-size:15px;padding:6px 18px;margin-top:6px}
code{background:#f1f3f5;padding:1px 4px}small{color:#666}
"""

# (title, what happened, HTTP status) of each way a link or a sign-in fails.
NOTICES: dict[str, tuple[str, str, int]] = {
    "signed_out": ("请先登录", "查看服务质量看板需要先登录。", 401),
    "session_expired": ("登录已过期", "您的登录已超过有效期，请重新登录。", 401),
    "link_unknown": (
        "登录链接无效",
        "这个登录链接不存在或不完整，请检查链接是否复制完整，或重新获取。",
        401,
    ),
    "link_used": (
        "登录链接已使用",
        "这个一次性登录链接已经用过了，每个链接只能打开一次。如需再次进入，请重新获取链接，"
        "或在下方粘贴令牌登录。",
        410,
    ),
    "link_expired": (
        "登录链接已过期",
        "这个一次性登录链接已超过有效期。请重新获取链接，或在下方粘贴令牌登录。",
        410,
    ),
    "token_invalid": ("令牌无效", "令牌无法验证（格式不对、签名不符或已过期），请重新复制。", 401),
    "not_admin": (
        "无权查看",
        "服务质量看板仅供住房和城乡建设部门的管理员使用；这个令牌不是管理员的。",
        403,
    ),
    "cross_site": ("请求被拒绝", "登录请求来自其他网站，已拒绝。请直接在本页登录。", 403),
}


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def signin_page(notice: str | None = None, view: Mapping[str, str] | None = None) -> HTMLResponse:
    """The sign-in page (200), or with a notice of what went wrong (a key of
    NOTICES) and that notice's status."""
    title, message, status = NOTICES[notice] if notice else ("", "", 200)
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in (view or {}).items()
    )
    box = f'<p class="notice"><b>{escape(title)}</b>：{escape(message)}</p>' if notice else ""
    html = f"""<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 · Linli 服务质量看板</title><style>{STYLE}</style></head><body>
<h1>登录服务质量看板</h1>{box}
<p>本看板供住房和城乡建设部门的管理员查看物业服务和居家养老服务的质量指标。
区县管理员只能看到本区县的数据。请用以下任一方式登录：</p>
<h2>方式一：粘贴令牌</h2>
<form method="post" action="/dashboard/login">
<label for="token">统一身份认证平台签发给您的令牌（JWT）：</label>
<textarea id="token" name="token" rows="5" required autocomplete="off" spellcheck="false"
placeholder="eyJhbGciOi…"></textarea>{hidden}
<button type="submit">登录</button></form>
<p><small>令牌只用于这一次登录，不会保存。登录后浏览器保存一个 {_minutes(SESSION_TTL) // 60}
小时内有效的会话，退出登录即失效。Paste the identity gateway's token.</small></p>
<h2>方式二：一次性登录链接</h2>
<p>请系统运维人员在服务器上运行：</p>
<p><code>python -m service dashboard-link --region 地区编号或名称</code></p>
<p>得到的链接 {_minutes(CLI_CODE_TTL)} 分钟内有效，只能打开一次；打开后即进入该地区的看板。</p>
<p><small>Portals may ask for a link with their bearer token: <code>POST /v1/dashboard/links</code>
(valid {int(API_CODE_TTL.total_seconds())} s, once).</small></p>
</body></html>"""
    # no-referrer: a one-time code in this page's URL goes nowhere else.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=headers)
