"""Payment channels: one module per channel (its adapter) and one per simulator, built from the
settings by compose.build_channels. The names below keep `from backend.channels import ...` working."""
from backend.channels.base import ChannelError, ChannelOrder, PaymentChannel
from backend.channels.wechat import ChannelKeys, WechatNativeChannel
from backend.channels.wechat_sim import ChannelSimulator, simulated_channel

__all__ = ["ChannelError", "ChannelKeys", "ChannelOrder", "ChannelSimulator", "PaymentChannel",
           "WechatNativeChannel", "simulated_channel"]
