/**
 * Usage events as plain objects (not yet JSON), for message bodies of one event or an array of them:
 * an sms.mt of acme on 2 July 2025 unless `over` says otherwise.
 */
export type Ev = Record<string, unknown>;

export const event = (id: string, type: string, data: Ev, over: Ev = {}): Ev => ({
  specversion: "1.0",
  id,
  source: "/gw",
  type,
  subject: "acme",
  time: "2025-07-02T09:00:00Z",
  data,
  ...over,
});

export const sms = (id: string, over: Ev = {}, country = "TR") =>
  event(id, "sms.mt", { to: id, country, status: "submitted" }, over);
