"""The channels' statement files as their documentation shows them (docs/CHANNELS.md cites the
pages), made from (out_trade_no, yuan, time, channel id) rows for the tests."""
from __future__ import annotations

import io
import zipfile

WECHAT_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                 "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                 "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
ALIPAY_HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,"
                 "订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,"
                 "券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")


def wechat_bill(rows: list[tuple[str, str, str, str]], refunds: list[tuple[str, str, str, str]] = ()) -> bytes:
    """rows: (out_trade_no, yuan, 'YYYY-MM-DD HH:MM:SS', transaction_id); refunds: (out_trade_no,
    refund yuan, time, out_refund_no)."""
    lines = [WECHAT_HEADER]
    total = 0
    for no, yuan, at, txn in rows:
        fields = [at, "wxd678efh567hg6787", "1900000109", "0", "", txn, no, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "MICROPAY",
                  "SUCCESS", "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "", "午餐", "", "0.05000",
                  "0.60%", yuan, "0.00", ""]
        lines.append(",".join("`" + f for f in fields))
        total += round(float(yuan) * 100)
    for no, yuan, at, refund_no in refunds:
        fields = [at, "wxd678efh567hg6787", "1900000109", "0", "", "4200000000000000000000000001", no, "o-x",
                  "MICROPAY", "REFUND", "OTHERS", "CNY", "0.00", "0.00", "50000000000000000001", refund_no, yuan, "0.00",
                  "ORIGINAL", "SUCCESS", "午餐", "", "-0.01000", "0.60%", "0.00", yuan, ""]
        lines.append(",".join("`" + f for f in fields))
    lines.append(WECHAT_SUMMARY)
    lines.append(",".join("`" + f for f in [str(len(rows) + len(refunds)), f"{total / 100:.2f}", "0.00", "0.00",
                                              "0.00", f"{total / 100:.2f}", "0.00"]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def alipay_bill(day: str, rows: list[tuple[str, str, str, str]], refunds: int = 0, zipped: bool = False) -> bytes:
    """rows: (out_trade_no, yuan, 'YYYY-MM-DD HH:MM:SS', trade_no); GBK as Alipay serves it."""
    y, m, d = day.split("-")
    lines = ["#支付宝业务明细查询", "#账号：[20881021462251350156]",
             f"#起始日期：[{y}年{m}月{d}日 00:00:00]   终止日期：[{y}年{m}月{int(d) + 1:02d}日 00:00:00]",
             "#-----------------------------------------业务明细列表----------------------------------------",
             ALIPAY_HEADER]
    for no, yuan, at, trade_no in rows:
        lines.append(",".join([trade_no, no, "交易", "午餐", at, at, "", "", "", "", "159****5620", yuan, yuan,
                               "0.00", "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", "", "-0.05", "0.00", ""]))
    for n in range(refunds):
        lines.append(",".join([f"20260302220014{n:010d}", f"r{n}", "退款", "午餐", f"{day} 12:30:00",
                               f"{day} 12:30:00", "", "", "", "", "159****5620", "-1.00", "-1.00", "0.00", "0.00",
                               "0.00", "0.00", "0.00", "", "0.00", "0.00", f"r{n}", "0.01", "0.00", ""]))
    lines += ["#-----------------------------------------业务明细列表结束------------------------------------",
              f"#交易合计：{len(rows)}笔，退款合计：{refunds}笔", f"#导出时间：[{y}年{m}月{d}日 09:00:00]"]
    data = ("\r\n".join(lines) + "\r\n").encode("gb18030")
    if not zipped:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"20881021462251350156_{y}{m}{d}_业务明细.csv", data)
        archive.writestr(f"20881021462251350156_{y}{m}{d}_业务明细(汇总).csv", "#汇总".encode("gb18030"))
    return out.getvalue()
