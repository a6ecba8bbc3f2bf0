//! The fields every device read selects, beside both readers (one device, pages by serial).

/// The `$select` of every device read: exactly the fields of [`AutopilotDevice`](crate::AutopilotDevice) (a unit test
/// holds this to the spec).
pub(crate) const DEVICE_SELECT: &str = "id,serialNumber,displayName,groupTag,userPrincipalName,\
addressableUserName,resourceName,deploymentProfileAssignmentStatus,userlessEnrollmentStatus,\
enrollmentState,lastContactedDateTime";
