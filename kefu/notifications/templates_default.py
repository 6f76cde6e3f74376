"""Built-in message texts (Chinese first). An administrator overrides one with a MessageTemplate row
of the same code and channel. These are data, not msgids (STYLE.md §11)."""

from __future__ import annotations

DEFAULTS: dict[tuple[str, str], tuple[str, str]] = {
    # W8: the customer is told the expected resolution time on intake…
    ("ticket_received", "sms"): ("", "{signature}尊敬的{name}，您的工单{number}（{subject}）已受理，我们预计在{due}前处理完毕，处理进展将及时告知您。"),
    # …and kept informed on the way.
    ("ticket_transferred", "sms"): ("", "{signature}您的工单{number}已转交{department}处理，预计在{due}前处理完毕，请您耐心等待。"),
    ("ticket_resolved", "sms"): ("", "{signature}您的工单{number}已处理完毕，如问题仍未解决，请致电客服热线，我们将继续为您处理。"),
    ("sla_delay", "sms"): ("", "{signature}很抱歉，您的工单{number}处理时间有所延长，我们已加急处理，将尽快给您答复。"),
    # F2: a signed, expiring survey link per contact.
    ("survey_invite", "sms"): ("", "{signature}您的工单{number}已处理完毕，请为本次服务评分（1-5分）：{link} 链接{days}天内有效。"),
    ("care_visit", "sms"): ("", "{signature}尊敬的{name}，感谢您一直以来的支持，如有任何问题欢迎随时联系我们。"),
    # Staff notices by email.
    ("sla.warning", "email"): ("【时限预警】工单{number}", "工单{number}（{subject}）：{text}\n处理时限：{due}\n请及时处理。"),
    ("sla.breached", "email"): ("【超时升级】工单{number}", "工单{number}（{subject}）：{text}\n处理时限：{due}\n已按升级规则处理，请关注。"),
}
