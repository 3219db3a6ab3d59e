// The client a WeChat mini-program developer writes against Linli: the types
// come from openapi-typescript run on the service's /openapi.json
// (generated/linli.ts), the calls go through wx.request. `make typescript`
// regenerates the types and type-checks this file with `tsc --strict`; it is
// never run. A change to the API description that breaks this file breaks
// such clients.
import type { components, operations } from "./generated/linli";

type Schemas = components["schemas"];
export type TicketCreate = Schemas["TicketCreate"];
export type TicketRead = Schemas["TicketRead"];
export type TicketPage = Schemas["TicketPage"];
export type Status = Schemas["Status"];
export type Problem = Schemas["Problem"];
type ConfirmBody = NonNullable<operations["confirmTicket"]["requestBody"]>["content"]["application/json"];
type ListTicketsQuery = NonNullable<operations["listTickets"]["parameters"]["query"]>;

// The part of the mini program's wx.request that this client uses.
interface WxResponse {
  statusCode: number;
  data: unknown;
  header: Record<string, string>;
}
declare const wx: {
  request(options: {
    url: string;
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
    data?: unknown;
    header?: Record<string, string>;
    success(response: WxResponse): void;
    fail(error: { errMsg: string }): void;
  }): void;
};

const BASE = "https://linli.example.cn";

export class LinliError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

interface Answer<T> {
  body: T;
  header: Record<string, string>;
}

function call<T>(
  method: "GET" | "POST" | "PATCH",
  path: string,
  token: string,
  options: { data?: unknown; query?: Record<string, unknown>; header?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const query = Object.entries(options.query ?? {})
    .filter(([, value]) => value !== undefined && value !== null)
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => [name, v]))
    .map(([name, value]) => `${encodeURIComponent(String(name))}=${encodeURIComponent(String(value))}`)
    .join("&");
  return new Promise((resolve, reject) =>
    wx.request({
      url: `${BASE}${path}${query ? `?${query}` : ""}`,
      method,
      data: options.data,
      header: { Authorization: `Bearer ${token}`, ...options.header },
      success: (response) =>
        response.statusCode < 300
          ? resolve({ body: response.data as T, header: response.header })
          : reject(new LinliError(response.data as Problem)),
      fail: (error) => reject(new Error(error.errMsg)),
    }),
  );
}

/** File a ticket; the same idempotency key on a retry files it once. */
export async function createTicket(
  token: string,
  body: TicketCreate,
  idempotencyKey: string,
): Promise<{ ticket: TicketRead; etag: string | undefined; location: string | undefined }> {
  type Created = operations["createTicket"]["responses"][201]["content"]["application/json"];
  const { body: ticket, header } = await call<Created>("POST", "/v1/tickets", token, {
    data: body,
    header: { "Idempotency-Key": idempotencyKey },
  });
  return { ticket, etag: header["ETag"], location: header["Location"] };
}

export async function listTickets(token: string, query: ListTicketsQuery = {}): Promise<TicketPage> {
  type Page = operations["listTickets"]["responses"][200]["content"]["application/json"];
  return (await call<Page>("GET", "/v1/tickets", token, { query })).body;
}

/** The resident confirms the work and rates it, unless the ticket changed meanwhile (412). */
export async function confirmTicket(
  token: string,
  ticket: TicketRead,
  etag: string,
  body: ConfirmBody,
): Promise<TicketRead> {
  type Confirmed = operations["confirmTicket"]["responses"][200]["content"]["application/json"];
  const answer = await call<Confirmed>("POST", `/v1/tickets/${ticket.id}/confirm`, token, {
    data: body,
    header: { "If-Match": etag },
  });
  return answer.body;
}

// --- a resident's screens ---------------------------------------------------------

/** A leaking kitchen pipe, filed with only the fields the contract requires. */
export async function reportLeak(token: string): Promise<string | null> {
  // channel, title, priority, location, ... may all be left out.
  const minimal: TicketCreate = {
    category: "repair.plumbing",
    community_id: 1,
    description: "厨房水管漏水，楼下天花板在滴水",
  };
  const { ticket, etag } = await createTicket(token, minimal, "wx-7f3a9c");
  const status: Status = ticket.status;
  // The SLA block is always there; its deadlines are null when no policy sets one.
  const respondBy: string | null = ticket.sla.respond_by;
  const resolveBy: string | null = ticket.sla.resolve_by;
  const breached: boolean = ticket.sla.response_breached || ticket.sla.resolution_breached;
  const escalations: number = ticket.sla.response_escalation_level;
  if (status === "resolved" && etag !== undefined) {
    await confirmTicket(token, ticket, etag, { rating: 5, comment: "师傅修得很好" });
  }
  return breached || escalations > 0 ? resolveBy : respondBy;
}

/** Every ticket that is waiting for the company, page by page. */
export async function waitingTickets(token: string): Promise<TicketRead[]> {
  const tickets: TicketRead[] = [];
  let cursor: string | null = null;
  do {
    const page: TicketPage = await listTickets(token, {
      status: ["assigned", "accepted"],
      limit: 50,
      ...(cursor === null ? {} : { cursor }),
    });
    tickets.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return tickets;
}

// --- what the types must refuse (tsc fails if one of these compiles) --------------

// @ts-expect-error the description is required
export const withoutDescription: TicketCreate = { category: "repair.plumbing", community_id: 1 };
// @ts-expect-error no such status
export const unknownStatus: Status = "open";
// @ts-expect-error not a channel
export const badChannel: TicketCreate = { ...withoutDescription, description: "漏水", channel: "sms" };
// @ts-expect-error feed_cursor is sent to provider staff only: it may be absent
export const feedCursor: string | null = ({} as TicketPage).feed_cursor;
