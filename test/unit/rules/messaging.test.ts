/** Per-message and active-user channels (rating-rules §3 table, G1, G2, G3). */
import { describe, expect, it } from "vitest";
import type { UsageEventType } from "../../../shared/core/products/index.js";
import { rateActiveUsers, rateMessages, rateSessions } from "../../../shared/core/products/messaging/rule.js";
import type { LedgerEvent, ProductRule } from "../../../shared/core/rating/types.js";
import { ev, evOf } from "../../support/events.js";
import { july, julyIst, rate, rateText } from "./harness.js";

const T = "2025-07-02T09:00:00Z";
const run = (rule: ProductRule, events: LedgerEvent[], period = july) => {
  const { charges, blocked } = rateText(rule, events, period, {}, { at: false });
  return { charges, blocked };
};

describe("rateMessages", () => {
  it.each<[string, UsageEventType, Record<string, unknown>, string[]]>([
    [
      "G1 sms.mt submitted is charged with country and network",
      "sms.mt",
      { to: "1", country: "TR", network: "tcell", status: "submitted" },
      ["sms.mt[country=TR;network=tcell]"],
    ],
    ["G1 sms.mt rejected is free", "sms.mt", { to: "1", country: "TR", status: "rejected" }, []],
    [
      "G2 blocked but rejected: nothing would have been charged",
      "sms.mt",
      { to: "1", country: "TR", status: "rejected", blocked: true },
      [],
    ],
    [
      "G14 sms.mt without network carries only country",
      "sms.mt",
      { to: "1", country: "DE", status: "submitted" },
      ["sms.mt[country=DE]"],
    ],
    [
      "§3 mms.mo accepted",
      "mms.mo",
      { from: "1", country: "TR", status: "accepted" },
      ["mms.mo[country=TR]"],
    ],
    ["§3 sms.mo rejected is free", "sms.mo", { from: "1", country: "TR", status: "rejected" }, []],
    [
      "§3 rcs.mt submitted and delivered",
      "rcs.mt",
      { to: "1", country: "TR", status: "submitted", delivered: true },
      ["rcs.mt[country=TR]"],
    ],
    [
      "§3 rcs.mt submitted, not delivered: free",
      "rcs.mt",
      { to: "1", country: "TR", status: "submitted", delivered: false },
      [],
    ],
    [
      "§3 number lookup sent",
      "number_lookup.request",
      { msisdn: "1", country: "TR", status: "sent" },
      ["number_lookup.request[country=TR]"],
    ],
    [
      "§3 number lookup rejected",
      "number_lookup.request",
      { msisdn: "1", country: "TR", status: "rejected" },
      [],
    ],
    [
      "§3 e-mail to a block-listed address is charged",
      "email.message",
      { to: "a", status: "suppressed" },
      ["email.message"],
    ],
    ["G1 e-mail rejected is free", "email.message", { to: "a", status: "rejected" }, []],
    [
      "§3 e-mail validation submitted",
      "email.validation",
      { address: "a", status: "submitted", result: "no" },
      ["email.validation"],
    ],
    [
      "§3 push submitted by platform",
      "push.notification",
      { platform: "android", status: "submitted" },
      ["push.notification[platform=android]"],
    ],
    ["§3 LINE delivered", "line.message", { endUserId: "u", delivered: true }, ["line.message"]],
    ["§3 Zalo undelivered is free", "zalo.message", { endUserId: "u", delivered: false }, []],
    [
      "§3 Kakao alimtalk delivered",
      "kakao.message",
      { endUserId: "u", product: "alimtalk", delivered: true },
      ["kakao.alimtalk"],
    ],
  ])("%s", (_n, type, data, charges) => {
    expect(run(rateMessages, [evOf(type, T, data)])).toEqual({ charges, blocked: [] });
  });

  it.each<[string, UsageEventType, Record<string, unknown>, string]>([
    [
      "G2 blocked sms.mt is informational",
      "sms.mt",
      { to: "1", country: "TR", status: "submitted", blocked: true },
      "sms.mt[country=TR]",
    ],
    [
      "G2 Kakao chingutalk blocked",
      "kakao.message",
      { endUserId: "u", product: "chingutalk", delivered: true, blocked: true },
      "kakao.chingutalk",
    ],
  ])("%s", (_n, type, data, blocked) => {
    expect(run(rateMessages, [evOf(type, T, data)])).toEqual({ charges: [], blocked: [blocked] });
  });

  it("G3 the period is the account's time zone month", () => {
    const e = [
      ev("sms.mt", "2025-06-30T21:00:00Z", { to: "1", country: "TR", status: "submitted" }), // 00:00 on 1 July in Istanbul
      ev("sms.mt", "2025-06-30T20:59:59Z", { to: "1", country: "TR", status: "submitted" }), // still June there
      ev("sms.mt", "2025-07-31T21:00:00Z", { to: "1", country: "TR", status: "submitted" }), // August there
    ];
    expect(rate(rateMessages, e, julyIst).charges).toHaveLength(1);
  });
});

describe("rateSessions", () => {
  it("§3 USSD: one charge per session id, by country, whoever initiated it", () => {
    const e = [
      ev("ussd.session", T, { sessionId: "s1", country: "NG", initiatedBy: "account" }),
      ev("ussd.session", T, { sessionId: "s1", country: "NG", initiatedBy: "account" }),
      ev("ussd.session", T, { sessionId: "s2", country: "NG", initiatedBy: "third_party" }),
    ];
    expect(run(rateSessions, e).charges).toEqual(["ussd.session[country=NG]", "ussd.session[country=NG]"]);
  });
  it("§3 Kakao Sangdam: a session reported in June is not charged again in July", () => {
    const e = [
      ev("kakao.sangdam_session", "2025-06-30T23:00:00Z", { endUserId: "u", sessionId: "k1" }),
      ev("kakao.sangdam_session", T, { endUserId: "u", sessionId: "k1" }),
    ];
    expect(run(rateSessions, e).charges).toEqual([]);
  });
});

describe("rateActiveUsers", () => {
  it("§3 distinct end users with at least one delivered message, per channel", () => {
    const e = [
      ev("messenger.message", T, { endUserId: "u1", delivered: true }),
      ev("messenger.message", T, { endUserId: "u1", delivered: true }),
      ev("messenger.message", T, { endUserId: "u2", delivered: false }),
      ev("telegram.message", T, { endUserId: "u1", delivered: true }),
      ev("messenger.message", "2025-06-30T23:59:59Z", { endUserId: "u3", delivered: true }),
    ];
    expect(run(rateActiveUsers, e).charges).toEqual(["messenger.active_user", "telegram.active_user"]);
  });
  it("G2 users reached only by blocked messages are informational, never counted", () => {
    const e = [
      ev("apple_bc.message", T, { endUserId: "u1", delivered: true, blocked: true }),
      ev("apple_bc.message", T, { endUserId: "u2", delivered: true, blocked: true }),
      ev("apple_bc.message", T, { endUserId: "u2", delivered: true }),
    ];
    expect(run(rateActiveUsers, e)).toEqual({
      charges: ["apple_bc.active_user"],
      blocked: ["apple_bc.active_user"],
    });
  });
});
