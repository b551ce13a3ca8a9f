/**
 * The AWS Organizations API (AWS JSON 1.1, `AWSOrganizationsV20161128`): the organization,
 * accounts (CreateAccount completes asynchronously), OUs, trusted services, delegated
 * administrators, service control policies and tags. Organizations is global: its calls
 * are recorded in us-east-1, from whichever Region they were signed for. The engine
 * (src/organizations) decides who may do what beyond IAM (the management account only,
 * delegated administrators for reads).
 */
import type { Organizations, PageRequest } from '../../organizations/engine.js';
import type { OrganizationRecord, PolicyType, TagRecord } from '../../organizations/store.js';
import { loadModel } from '../../wire/model.js';
import { toRecordShape } from '../../wire/record-shape.js';
import type { CallContext, OperationSpec, ServiceDefinition } from '../service.js';
import {
  accountShape,
  createAccountStatusShape,
  organizationShape,
  policyShape,
  policySummary,
  rootShape,
  unitArn,
  unitShape,
  type CreateAccountInput,
  type PagedInput,
  type PolicyInput,
} from './shapes.js';

export interface OrganizationsServiceDeps {
  organizations: Organizations;
}

type Handler<I> = (input: I, ctx: CallContext) => Promise<Record<string, unknown>>;

/** An operation whose input the pipeline has validated against the model, typed as `I`. */
function op<I>(readOnly: boolean, handle: Handler<I>, extra: Partial<OperationSpec> = {}): OperationSpec {
  return { readOnly, category: 'Management', handle: (input, ctx) => handle(input as I, ctx), ...extra };
}

function page(input: PagedInput): PageRequest {
  return { ...(input.MaxResults !== undefined ? { maxResults: input.MaxResults } : {}), ...(input.NextToken !== undefined ? { nextToken: input.NextToken } : {}) };
}

function next(token: string | undefined): Record<string, unknown> {
  return token !== undefined ? { NextToken: token } : {};
}

/** CloudTrail hides the name and email of a CreateAccount call. */
const HIDDEN = 'HIDDEN_DUE_TO_SECURITY_REASONS';

/**
 * The Organizations service definition.
 *
 * @example
 * const service = organizationsService({ organizations });
 */
export function organizationsService(deps: OrganizationsServiceDeps): ServiceDefinition {
  const orgs = deps.organizations;
  const caller = (ctx: CallContext) => ({ accountId: ctx.accountId });
  const org = (): OrganizationRecord => {
    const o = orgs.organization();
    if (!o) throw new Error('organization vanished during the call');
    return o;
  };

  const operations: Record<string, OperationSpec> = {
    CreateOrganization: op<{ FeatureSet?: 'ALL' | 'CONSOLIDATED_BILLING' }>(false, async (input, ctx) => ({
      Organization: organizationShape(await orgs.createOrganization(caller(ctx), input.FeatureSet ?? 'ALL')),
    })),
    DescribeOrganization: op<object>(true, async (_input, ctx) => ({ Organization: organizationShape(orgs.describeOrganization(caller(ctx))) })),
    DeleteOrganization: op<object>(false, async (_input, ctx) => {
      await orgs.deleteOrganization(caller(ctx));
      return {};
    }),
    ListRoots: op<PagedInput>(true, async (_input, ctx) => ({ Roots: [rootShape(orgs.listRoots(caller(ctx)))] })),

    CreateAccount: op<CreateAccountInput>(
      false,
      async (input, ctx) => {
        const request = await orgs.createAccount(caller(ctx), {
          accountName: input.AccountName,
          email: input.Email,
          ...(input.RoleName !== undefined ? { roleName: input.RoleName } : {}),
          ...(input.Tags !== undefined ? { tags: input.Tags } : {}),
        });
        return { CreateAccountStatus: createAccountStatusShape(request) };
      },
      {
        recordRequest: (input) => ({ ...(toRecordShape(input) as Record<string, unknown>), accountName: HIDDEN, email: HIDDEN }),
        recordResponse: (output) => {
          const status = toRecordShape(output) as { createAccountStatus?: Record<string, unknown> };
          return { createAccountStatus: { ...status.createAccountStatus, accountName: HIDDEN } };
        },
      },
    ),
    DescribeCreateAccountStatus: op<{ CreateAccountRequestId: string }>(true, async (input, ctx) => ({
      CreateAccountStatus: createAccountStatusShape(await orgs.describeCreateAccountStatus(caller(ctx), input.CreateAccountRequestId)),
    })),
    ListCreateAccountStatus: op<PagedInput & { States?: ('IN_PROGRESS' | 'SUCCEEDED' | 'FAILED')[] }>(true, async (input, ctx) => {
      const result = await orgs.listCreateAccountStatus(caller(ctx), input.States, page(input));
      return { CreateAccountStatuses: result.items.map(createAccountStatusShape), ...next(result.nextToken) };
    }),
    DescribeAccount: op<{ AccountId: string }>(true, async (input, ctx) => ({ Account: accountShape(org(), orgs.describeAccount(caller(ctx), input.AccountId)) })),
    ListAccounts: op<PagedInput>(true, async (input, ctx) => {
      const result = orgs.listAccounts(caller(ctx), page(input));
      return { Accounts: result.items.map((a) => accountShape(org(), a)), ...next(result.nextToken) };
    }),
    ListAccountsForParent: op<PagedInput & { ParentId: string }>(true, async (input, ctx) => {
      const result = orgs.listAccountsForParent(caller(ctx), input.ParentId, page(input));
      return { Accounts: result.items.map((a) => accountShape(org(), a)), ...next(result.nextToken) };
    }),
    CloseAccount: op<{ AccountId: string }>(false, async (input, ctx) => {
      await orgs.closeAccount(caller(ctx), input.AccountId);
      return {};
    }),
    RemoveAccountFromOrganization: op<{ AccountId: string }>(false, async (input, ctx) => {
      await orgs.removeAccount(caller(ctx), input.AccountId);
      return {};
    }),
    MoveAccount: op<{ AccountId: string; SourceParentId: string; DestinationParentId: string }>(false, async (input, ctx) => {
      await orgs.moveAccount(caller(ctx), { accountId: input.AccountId, sourceParentId: input.SourceParentId, destinationParentId: input.DestinationParentId });
      return {};
    }),

    CreateOrganizationalUnit: op<{ Name: string; ParentId: string; Tags?: TagRecord[] }>(false, async (input, ctx) => {
      const unit = await orgs.createOrganizationalUnit(caller(ctx), { name: input.Name, parentId: input.ParentId, ...(input.Tags ? { tags: input.Tags } : {}) });
      return { OrganizationalUnit: unitShape(org(), unit, orgs) };
    }),
    DescribeOrganizationalUnit: op<{ OrganizationalUnitId: string }>(true, async (input, ctx) => ({
      OrganizationalUnit: unitShape(org(), orgs.describeOrganizationalUnit(caller(ctx), input.OrganizationalUnitId), orgs),
    })),
    UpdateOrganizationalUnit: op<{ OrganizationalUnitId: string; Name?: string }>(false, async (input, ctx) => ({
      OrganizationalUnit: unitShape(org(), await orgs.updateOrganizationalUnit(caller(ctx), input.OrganizationalUnitId, input.Name), orgs),
    })),
    DeleteOrganizationalUnit: op<{ OrganizationalUnitId: string }>(false, async (input, ctx) => {
      await orgs.deleteOrganizationalUnit(caller(ctx), input.OrganizationalUnitId);
      return {};
    }),
    ListOrganizationalUnitsForParent: op<PagedInput & { ParentId: string }>(true, async (input, ctx) => {
      const result = orgs.listOrganizationalUnitsForParent(caller(ctx), input.ParentId, page(input));
      return { OrganizationalUnits: result.items.map((u) => unitShape(org(), u, orgs)), ...next(result.nextToken) };
    }),
    ListChildren: op<PagedInput & { ParentId: string; ChildType: 'ACCOUNT' | 'ORGANIZATIONAL_UNIT' }>(true, async (input, ctx) => {
      const result = orgs.listChildren(caller(ctx), input.ParentId, input.ChildType, page(input));
      return { Children: result.items.map((c) => ({ Id: c.id, Type: c.type })), ...next(result.nextToken) };
    }),
    ListParents: op<PagedInput & { ChildId: string }>(true, async (input, ctx) => {
      const parent = orgs.listParents(caller(ctx), input.ChildId);
      return { Parents: [{ Id: parent.id, Type: parent.type }] };
    }),

    EnableAWSServiceAccess: op<{ ServicePrincipal: string }>(false, async (input, ctx) => {
      await orgs.enableServiceAccess(caller(ctx), input.ServicePrincipal);
      return {};
    }),
    DisableAWSServiceAccess: op<{ ServicePrincipal: string }>(false, async (input, ctx) => {
      await orgs.disableServiceAccess(caller(ctx), input.ServicePrincipal);
      return {};
    }),
    ListAWSServiceAccessForOrganization: op<PagedInput>(true, async (input, ctx) => {
      const result = orgs.listServiceAccess(caller(ctx), page(input));
      return {
        EnabledServicePrincipals: result.items.map((s) => ({ ServicePrincipal: s.servicePrincipal, DateEnabled: new Date(s.enabledAt) })),
        ...next(result.nextToken),
      };
    }),
    RegisterDelegatedAdministrator: op<{ AccountId: string; ServicePrincipal: string }>(false, async (input, ctx) => {
      await orgs.registerDelegatedAdministrator(caller(ctx), input.AccountId, input.ServicePrincipal);
      return {};
    }),
    DeregisterDelegatedAdministrator: op<{ AccountId: string; ServicePrincipal: string }>(false, async (input, ctx) => {
      await orgs.deregisterDelegatedAdministrator(caller(ctx), input.AccountId, input.ServicePrincipal);
      return {};
    }),
    ListDelegatedAdministrators: op<PagedInput & { ServicePrincipal?: string }>(true, async (input, ctx) => {
      const result = orgs.listDelegatedAdministrators(caller(ctx), input.ServicePrincipal, page(input));
      return {
        DelegatedAdministrators: result.items.map((d) => ({ ...accountShape(org(), d.account), DelegationEnabledDate: new Date(d.enabledAt) })),
        ...next(result.nextToken),
      };
    }),

    EnablePolicyType: op<{ RootId: string; PolicyType: PolicyType }>(false, async (input, ctx) => ({
      Root: rootShape(await orgs.enablePolicyType(caller(ctx), input.RootId, input.PolicyType)),
    })),
    DisablePolicyType: op<{ RootId: string; PolicyType: PolicyType }>(false, async (input, ctx) => ({
      Root: rootShape(await orgs.disablePolicyType(caller(ctx), input.RootId, input.PolicyType)),
    })),
    CreatePolicy: op<PolicyInput>(false, async (input, ctx) => {
      const policy = await orgs.createPolicy(caller(ctx), {
        name: input.Name,
        description: input.Description,
        type: input.Type,
        content: input.Content,
        ...(input.Tags ? { tags: input.Tags } : {}),
      });
      return { Policy: policyShape(org(), policy) };
    }),
    UpdatePolicy: op<Partial<PolicyInput> & { PolicyId: string }>(false, async (input, ctx) => {
      const policy = await orgs.updatePolicy(caller(ctx), {
        policyId: input.PolicyId,
        ...(input.Name !== undefined ? { name: input.Name } : {}),
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        ...(input.Content !== undefined ? { content: input.Content } : {}),
      });
      return { Policy: policyShape(org(), policy) };
    }),
    DescribePolicy: op<{ PolicyId: string }>(true, async (input, ctx) => ({ Policy: policyShape(org(), orgs.describePolicy(caller(ctx), input.PolicyId)) })),
    DeletePolicy: op<{ PolicyId: string }>(false, async (input, ctx) => {
      await orgs.deletePolicy(caller(ctx), input.PolicyId);
      return {};
    }),
    AttachPolicy: op<{ PolicyId: string; TargetId: string }>(false, async (input, ctx) => {
      await orgs.attachPolicy(caller(ctx), input.PolicyId, input.TargetId);
      return {};
    }),
    DetachPolicy: op<{ PolicyId: string; TargetId: string }>(false, async (input, ctx) => {
      await orgs.detachPolicy(caller(ctx), input.PolicyId, input.TargetId);
      return {};
    }),
    ListPolicies: op<PagedInput & { Filter: PolicyType }>(true, async (input, ctx) => {
      const result = orgs.listPolicies(caller(ctx), input.Filter, page(input));
      return { Policies: result.items.map((p) => policySummary(org(), p)), ...next(result.nextToken) };
    }),
    ListPoliciesForTarget: op<PagedInput & { Filter: PolicyType; TargetId: string }>(true, async (input, ctx) => {
      const result = orgs.listPoliciesForTarget(caller(ctx), input.TargetId, input.Filter, page(input));
      return { Policies: result.items.map((p) => policySummary(org(), p)), ...next(result.nextToken) };
    }),
    ListTargetsForPolicy: op<PagedInput & { PolicyId: string }>(true, async (input, ctx) => {
      const result = orgs.listTargetsForPolicy(caller(ctx), input.PolicyId, page(input));
      const o = org();
      return {
        Targets: result.items.map((t) => ({
          TargetId: t.targetId,
          Type: t.type,
          Name: t.name,
          Arn:
            t.type === 'ROOT'
              ? rootShape(o).Arn
              : t.type === 'ORGANIZATIONAL_UNIT'
                ? unitArn(o, t.targetId)
                : `arn:aws:organizations::${o.managementAccountId}:account/${o.id}/${t.targetId}`,
        })),
        ...next(result.nextToken),
      };
    }),

    TagResource: op<{ ResourceId: string; Tags: TagRecord[] }>(false, async (input, ctx) => {
      await orgs.tagResource(caller(ctx), input.ResourceId, input.Tags);
      return {};
    }),
    UntagResource: op<{ ResourceId: string; TagKeys: string[] }>(false, async (input, ctx) => {
      await orgs.untagResource(caller(ctx), input.ResourceId, input.TagKeys);
      return {};
    }),
    ListTagsForResource: op<{ ResourceId: string; NextToken?: string }>(true, async (input, ctx) => ({ Tags: orgs.listTags(caller(ctx), input.ResourceId) })),
  };

  return {
    modelName: 'organizations',
    signingName: 'organizations',
    actionPrefix: 'organizations',
    eventSource: 'organizations.amazonaws.com',
    globalRegion: 'us-east-1',
    model: loadModel('organizations'),
    operations,
  };
}
