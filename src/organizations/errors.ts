/**
 * The AWS Organizations errors, one factory per code, worded as Organizations words them.
 * `ConstraintViolationException` and `InvalidInputException` carry the model's `Reason`.
 */
import { AwsError } from '../platform/errors.js';

function error(code: string, message: string, reason?: string): AwsError {
  return new AwsError({ code, message, ...(reason !== undefined ? { extra: { Reason: reason } } : {}) });
}

/** Factories for Organizations' errors. */
export const orgErrors = {
  notInUse: () => error('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.'),
  alreadyInOrganization: () => error('AlreadyInOrganizationException', 'The AWS account is already a member of an organization.'),
  accessDenied: (message = "You don't have permissions to access this resource.") => error('AccessDeniedException', message),
  accountNotFound: () => error('AccountNotFoundException', "You specified an account that doesn't exist."),
  accountAlreadyClosed: () => error('AccountAlreadyClosedException', 'You attempted to close an account that is already closed.'),
  parentNotFound: () => error('ParentNotFoundException', "We can't find a root or OU with the ParentId that you specified."),
  sourceParentNotFound: () => error('SourceParentNotFoundException', "We can't find a source root or OU with the ParentId that you specified."),
  destinationParentNotFound: () =>
    error('DestinationParentNotFoundException', "We can't find the destination container (a root or OU) with the ParentId that you specified."),
  duplicateAccount: () => error('DuplicateAccountException', 'That account is already present in the specified destination.'),
  childNotFound: () => error('ChildNotFoundException', "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."),
  ouNotFound: () => error('OrganizationalUnitNotFoundException', "We can't find an OU with the OrganizationalUnitId that you specified."),
  ouNotEmpty: () =>
    error('OrganizationalUnitNotEmptyException', 'The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.'),
  duplicateOu: () => error('DuplicateOrganizationalUnitException', 'An OU with the same name already exists.'),
  rootNotFound: () => error('RootNotFoundException', "We can't find a root with the RootId that you specified."),
  policyNotFound: () => error('PolicyNotFoundException', "We can't find a policy with the PolicyId that you specified."),
  targetNotFound: () => error('TargetNotFoundException', "We can't find a root, OU, account, or policy with the TargetId that you specified."),
  duplicatePolicy: () => error('DuplicatePolicyException', 'A policy with the same name already exists.'),
  duplicateAttachment: () => error('DuplicatePolicyAttachmentException', 'The selected policy is already attached to the specified target.'),
  policyNotAttached: () => error('PolicyNotAttachedException', "The policy isn't attached to the specified target in the specified root."),
  policyInUse: () => error('PolicyInUseException', 'The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.'),
  policyTypeNotEnabled: () =>
    error('PolicyTypeNotEnabledException', "The specified policy type isn't currently enabled in this root. You can't attach policies of the specified type to entities in a root until you enable that type in the root."),
  policyTypeAlreadyEnabled: () => error('PolicyTypeAlreadyEnabledException', 'The specified policy type is already enabled.'),
  policyTypeNotAvailable: () =>
    error('PolicyTypeNotAvailableForOrganizationException', "You can't use a policy type that isn't available in the organization."),
  malformedPolicy: (detail: string) =>
    error('MalformedPolicyDocumentException', `The provided policy document doesn't meet the requirements of the specified policy type. ${detail}`.trim()),
  organizationNotEmpty: () =>
    error('OrganizationNotEmptyException', 'The organization isn\'t empty. To delete an organization, you must first remove all accounts except the management account.'),
  masterCannotLeave: () =>
    error('MasterCannotLeaveOrganizationException', "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account."),
  accountAlreadyRegistered: () => error('AccountAlreadyRegisteredException', 'The provided account is already a delegated administrator for your organization.'),
  accountNotRegistered: () => error('AccountNotRegisteredException', 'The specified account is not a delegated administrator for this AWS service.'),
  createAccountStatusNotFound: () =>
    error('CreateAccountStatusNotFoundException', "We can't find an create account request with the CreateAccountRequestId that you specified."),
  constraint: (reason: string, message: string) => error('ConstraintViolationException', message, reason),
  invalidInput: (reason: string, message: string) => error('InvalidInputException', message, reason),
};
