"""Standard scripts 话术 (K2) from the service norms (seed 003 §4.2 (2) 日常用语): data, not msgids —
an agent says them in Chinese whatever the screen language. The greeting and the closing carry the
agent id 工号 (seed 003 §4.2 (1): 开头语、结束语必须报工号), in the form the quality engine checks."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import User

# (code, button label, text); {agent_id} and {brand} are filled for the agent.
SCRIPTS: list[tuple[str, object, str]] = [
    ("greeting", _("Greeting"), "您好，{brand}，{agent_id}号客服为您服务！"),
    ("confirm", _("Anything else"), "请问您还有其他问题吗？您看还需要其他协助吗？"),
    ("waiting", _("Please wait"), "现在为您查询（办理），请稍等。"),
    ("waited", _("Thanks for waiting"), "感谢您耐心等待。"),
    ("apology", _("Apology"), "很抱歉给您带来不便，您的问题已记录，稍后帮您上报，请耐心等待，会尽快给您回复。"),
    ("closing", _("Closing"), "感谢来电，{agent_id}号客服再会！"),
]


def scripts_for(user: User) -> list[dict[str, str]]:
    brand = getattr(settings, "KEFU_SCRIPT_BRAND", "短信通")
    agent_id = user.agent_id or ""
    return [
        {"code": code, "label": str(label), "text": text.format(brand=brand, agent_id=agent_id)}
        for code, label, text in SCRIPTS
    ]
