// The generated-client scenario through openapi-fetch, typed by openapi-typescript from the
// server's own /openapi.json (./schema.d.ts, generated next to this file), compiled with
// `tsc --strict`: a token, create a customer and find it with Partner Center's customer search,
// submit Education, see it InReview, the operator's reviewer approves it, see Approved.
// Usage: node scenario-openapi-fetch.js BASE_URL. Exits 1 at the first step that goes otherwise.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const base = process.argv[2];
const scope = "https://api.partnercenter.microsoft.com/user_impersonation";

function fail(why: string): never {
  console.error(`failed: ${why}`);
  process.exit(1);
}

async function token(tenant: string, clientId: string, secret: string, username: string, password: string) {
  const anonymous = createClient<paths>({ baseUrl: base });
  const { data, error } = await anonymous.POST("/{tenant}/oauth2/v2.0/token", {
    params: { path: { tenant } },
    body: {
      grant_type: "password",
      client_id: clientId,
      client_secret: secret,
      username,
      password,
      scope,
    },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (!data) fail(`a token for ${username}: ${JSON.stringify(error)}`);
  console.log(`ok: a token for ${username}`);
  return createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${data.access_token}` } });
}

type Client = Awaited<ReturnType<typeof token>>;

async function states(partner: Client, customerId: string): Promise<string[]> {
  const { data, error } = await partner.GET("/v1/customers/{customer_id}/qualifications", {
    params: { path: { customer_id: customerId } },
  });
  if (!data) fail(`the qualifications: ${JSON.stringify(error)}`);
  return listOf(data).map((s) => `${s.qualification} ${s.vettingStatus}`);
}

type State = { qualification: string; vettingStatus: string };

/// The documented profile wraps the list; the sdk profile answers it bare. Each profile's schema
/// types its own answer; this scenario runs against both.
function listOf(body: State[] | { qualifications: State[] }): State[] {
  return Array.isArray(body) ? body : body.qualifications;
}

async function main() {
  const partner = await token(
    "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-0000000000a1",
    "dev-app-secret-a", "admin@partner-a.test", "dev-user-password-a");
  const domain = `ts-${Math.random().toString(16).slice(2, 14)}.onmicrosoft.com`;
  const created = await partner.POST("/v1/customers", {
    body: { companyProfile: { domain }, billingProfile: { companyName: "Generated TypeScript School" } },
  });
  if (!created.data) fail(`a customer: ${JSON.stringify(created.error)}`);
  const customer = created.data;
  console.log("ok: a customer created");
  const filter = JSON.stringify({ Field: "Domain", Value: domain.slice(0, 15).toUpperCase(), Operator: "starts_with" });
  const found = await partner.GET("/v1/customers", { params: { query: { filter } } });
  if (!found.data) fail(`the search: ${JSON.stringify(found.error)}`);
  const ids = found.data.items.map((c) => c.id);
  if (ids.length !== 1 || ids[0] !== customer.id) fail(`the search found ${ids}, not ${customer.id}`);
  console.log("ok: the search found exactly that customer");
  const submitted = await partner.POST("/v1/customers/{customer_id}/qualifications", {
    params: { path: { customer_id: customer.id } },
    body: { qualification: "Education", educationSegment: "K12" },
  });
  if (!submitted.data) fail(`the submission: ${JSON.stringify(submitted.error)}`);
  const inReview = await states(partner, customer.id);
  if (inReview.join() !== "Education InReview") fail(`expected InReview, got ${inReview}`);
  console.log("ok: InReview");

  const reviewer = await token(
    "99999999-0000-4000-8000-000000000001", "99999999-0000-4000-8000-0000000000f1",
    "dev-app-secret-operator", "reviewer@operator.test", "dev-reviewer-password");
  const queue = await reviewer.GET("/review/v1/requests", { params: { query: { customerId: customer.id } } });
  if (!queue.data || queue.data.items.length !== 1) fail(`the review queue: ${JSON.stringify(queue.error)}`);
  const decided = await reviewer.POST("/review/v1/requests/{id}/decision", {
    params: { path: { id: queue.data.items[0].id } },
    body: { vettingStatus: "Approved" },
  });
  if (!decided.data) fail(`the decision: ${JSON.stringify(decided.error)}`);
  console.log("ok: approved");
  const approved = await states(partner, customer.id);
  if (approved.join() !== "Education Approved") fail(`expected Approved, got ${approved}`);
  console.log("ok: Approved, as the partner reads it");
}

main().catch((error) => fail(String(error)));
