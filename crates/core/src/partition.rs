//! AWS partitions: which `arn:<partition>:` a region's resources are named under.

/// The partition of `region`, as botocore's `partitions.json` (`regionRegex` per partition)
/// assigns it: `cn-*` → `aws-cn`, `us-gov-*` → `aws-us-gov`, `us-iso-*` → `aws-iso`,
/// `us-isob-*` → `aws-iso-b`, `eu-isoe-*` → `aws-iso-e`, `us-isof-*` → `aws-iso-f`,
/// `eusc-*` → `aws-eusc`; every other region (and an empty or unknown one) → `aws`.
pub fn partition_of(region: &str) -> &'static str {
    const BY_PREFIX: &[(&str, &str)] = &[
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
        ("cn-", "aws-cn"),
    ];
    BY_PREFIX
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn regions_map_to_their_partitions() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("us-gov-west-1", "aws-us-gov"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
            ("", "aws"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
    }
}
