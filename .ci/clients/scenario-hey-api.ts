// The generated-client scenario through the SDK @hey-api/openapi-ts made from the server's own
// /openapi.json (./client/, generated next to this file), compiled with `tsc --strict`: a token,
// create a customer and find it with Partner Center's customer search, submit Education, see it
// InReview, the operator's reviewer approves it, see Approved.
// Usage: node scenario.js BASE_URL. Exits 1 at the first step that goes otherwise.
import { createClient } from "./client/client/index.js";
import {
  createCustomer,
  decideVettingRequest,
  getQualifications,
  issueToken,
  listCustomers,
  listVettingRequests,
  submitQualification,
} from "./client/index.js";

const baseUrl = process.argv[2];
const scope = "https://api.partnercenter.microsoft.com/user_impersonation";

function fail(why: string): never {
  console.error(`failed: ${why}`);
  process.exit(1);
}

async function token(tenant: string, clientId: string, secret: string, username: string, password: string) {
  const { data, error } = await issueToken({
    client: createClient({ baseUrl }),
    path: { tenant },
    body: { grant_type: "password", client_id: clientId, client_secret: secret, username, password, scope },
  });
  if (!data) fail(`a token for ${username}: ${JSON.stringify(error)}`);
  console.log(`ok: a token for ${username}`);
  return createClient({ baseUrl, auth: data.access_token });
}

type State = { qualification: string; vettingStatus: string };

/// The documented profile wraps the list; the sdk profile answers it bare. Each profile's types
/// describe its own answer; this scenario runs against both.
function listOf(body: State[] | { qualifications: State[] }): State[] {
  return Array.isArray(body) ? body : body.qualifications;
}

async function states(client: ReturnType<typeof createClient>, customerId: string): Promise<string[]> {
  const { data, error } = await getQualifications({ client, path: { customer_id: customerId } });
  if (!data) fail(`the qualifications: ${JSON.stringify(error)}`);
  return listOf(data).map((s) => `${s.qualification} ${s.vettingStatus}`);
}

async function main() {
  const partner = await token(
    "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-0000000000a1",
    "dev-app-secret-a", "admin@partner-a.test", "dev-user-password-a");
  const domain = `hey-${Math.random().toString(16).slice(2, 14)}.onmicrosoft.com`;
  const created = await createCustomer({
    client: partner,
    body: { companyProfile: { domain }, billingProfile: { companyName: "Generated Hey API School" } },
  });
  if (!created.data) fail(`a customer: ${JSON.stringify(created.error)}`);
  const customer = created.data;
  console.log("ok: a customer created");
  const filter = JSON.stringify({ Field: "Domain", Value: domain.slice(0, 15).toUpperCase(), Operator: "starts_with" });
  const found = await listCustomers({ client: partner, query: { filter } });
  if (!found.data) fail(`the search: ${JSON.stringify(found.error)}`);
  const ids = found.data.items.map((c) => c.id);
  if (ids.length !== 1 || ids[0] !== customer.id) fail(`the search found ${ids}, not ${customer.id}`);
  console.log("ok: the search found exactly that customer");
  const submitted = await submitQualification({
    client: partner,
    path: { customer_id: customer.id },
    body: { qualification: "Education", educationSegment: "K12" },
  });
  if (!submitted.data) fail(`the submission: ${JSON.stringify(submitted.error)}`);
  const inReview = await states(partner, customer.id);
  if (inReview.join() !== "Education InReview") fail(`expected InReview, got ${inReview}`);
  console.log("ok: InReview");

  const reviewer = await token(
    "99999999-0000-4000-8000-000000000001", "99999999-0000-4000-8000-0000000000f1",
    "dev-app-secret-operator", "reviewer@operator.test", "dev-reviewer-password");
  const queue = await listVettingRequests({ client: reviewer, query: { customerId: customer.id } });
  if (!queue.data || queue.data.items.length !== 1) fail(`the review queue: ${JSON.stringify(queue.error)}`);
  const decided = await decideVettingRequest({
    client: reviewer,
    path: { id: queue.data.items[0].id },
    body: { vettingStatus: "Approved" },
  });
  if (!decided.data) fail(`the decision: ${JSON.stringify(decided.error)}`);
  console.log("ok: approved");
  const approved = await states(partner, customer.id);
  if (approved.join() !== "Education Approved") fail(`expected Approved, got ${approved}`);
  console.log("ok: Approved, as the partner reads it");
}

main().catch((error) => fail(String(error)));
