"""The SMS channel: a Twilio messaging webhook answered with TwiML, on the Rasa server.

- `channel`: `SmsInput`, the Rasa input channel and its webhook;
- `store`: `SmsStore`, what the channel remembers (tables in `bot.storage.sms`);
- `text`: GSM-7 conversion and splitting into SMS segments.

credentials.yml names the channel `bot.channels.sms.SmsInput`.
"""

from __future__ import annotations

from bot.channels.sms.channel import SmsInput

__all__ = ["SmsInput"]
