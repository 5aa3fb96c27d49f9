//! Config parsing and validation: defaults, and every error message with its position.

use super::*;
use crate::instance_types::Architecture;
use custom_resource_lambda::properties::{OnDelete, Scope};

fn err(text: &str) -> String {
    match parse("enitrunk.yaml", text) {
        Ok(spec) => panic!("expected an error, got {spec:#?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_starter_file_is_the_built_in_demo() {
    let spec = demo();
    assert_eq!(spec.stack_name, "enitrunk-demo");
    assert_eq!(spec.cluster.instance_types[0].name, "m5.large");
    assert_eq!((spec.cluster.min_size, spec.cluster.max_size), (1, 2));
    assert_eq!(spec.network, Network::Demo);
    assert_eq!(spec.trunking.scope, Scope::Role);
    assert_eq!(spec.trunking.on_delete, OnDelete::Retain);
    assert_eq!(spec.tasks.len(), 1);
    assert_eq!(spec.tasks[0].service, Some(Service { desired_count: 4 }));
}

#[test]
fn an_empty_file_means_all_defaults() {
    assert_eq!(parse("e.yaml", "# nothing here\n").unwrap(), demo());
    assert_eq!(parse("e.yaml", "").unwrap(), demo());
}

#[test]
fn arm64_types_get_the_arm64_ami() {
    let spec = parse("a.yaml", "cluster:\n  instance_types: [c6g.large]\n").unwrap();
    assert_eq!(spec.cluster.architecture, Architecture::Arm64);
    assert!(
        spec.cluster.ami_parameter.contains("/arm64/"),
        "{}",
        spec.cluster.ami_parameter
    );
}

#[test]
fn accelerated_types_get_the_ami_with_their_driver() {
    let ami = |types: &str| {
        parse(
            "a.yaml",
            &format!("cluster:\n  instance_types: [{types}]\n"),
        )
        .map(|spec| spec.cluster.ami_parameter)
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        ami("g5.xlarge").unwrap(),
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
    );
    assert_eq!(
        ami("inf2.xlarge").unwrap(),
        "/aws/service/ecs/optimized-ami/amazon-linux-2023/neuron/recommended/image_id"
    );
    for (types, says) in [
        (
            "g5.xlarge, m5.xlarge",
            "`m5.xlarge` needs the ECS-optimized AMI, but `g5.xlarge` needs the ECS GPU-optimized AMI",
        ),
        (
            "g4ad.xlarge",
            "`g4ad.xlarge` has an accelerator no ECS-optimized Amazon Linux 2023 AMI supports (x86_64)",
        ),
        (
            "g5g.xlarge",
            "`g5g.xlarge` has an accelerator no ECS-optimized Amazon Linux 2023 AMI supports (arm64)",
        ),
    ] {
        let e = ami(types).unwrap_err();
        assert!(
            e.contains(says) && e.contains("cluster.ami_parameter"),
            "{types}: {e}"
        );
    }
    // An AMI of one's own is taken as given.
    let own = "cluster:\n  instance_types: [g4ad.xlarge]\n  ami_parameter: /my/amd-gpu-ecs-ami\n";
    assert_eq!(
        parse("a.yaml", own).unwrap().cluster.ami_parameter,
        "/my/amd-gpu-ecs-ami"
    );
}

#[test]
fn the_functions_architecture() {
    let spec = parse("f.yaml", "function:\n  architecture: arm64\n").unwrap();
    assert_eq!(spec.function.architecture, Architecture::Arm64);
    assert_eq!(demo().function.architecture, Architecture::X86_64);
    let e = err("function:\n  architecture: arm\n");
    assert!(
        e.contains("enitrunk.yaml:2:17: function.architecture `arm` is not a Lambda architecture"),
        "{e}"
    );
    assert!(e.contains("use x86_64 or arm64"), "{e}");
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(err(
        "stack_name: demo\ncluster:\n  instance_type: [m5.large]\n"
    ));
}

#[test]
fn wrong_type() {
    insta::assert_snapshot!(err("cluster:\n  min_size: one\n"));
}

#[test]
fn negative_size() {
    insta::assert_snapshot!(err("cluster:\n  max_size: -1\n"));
}

#[test]
fn unknown_scope() {
    insta::assert_snapshot!(err("trunking:\n  scope: role\n"));
}

#[test]
fn missing_task_field() {
    insta::assert_snapshot!(err(
        "tasks:\n  - family: web\n    cpu: 256\n    containers: []\n"
    ));
}

#[test]
fn yaml_syntax_error() {
    insta::assert_snapshot!(err("cluster:\n  instance_types: [m5.large\n"));
}

#[test]
fn t_family_refused_with_alternatives() {
    insta::assert_snapshot!(err("cluster:\n  instance_types: [m5.large, t3.large]\n"));
}

#[test]
fn unknown_instance_type_suggests_spelling() {
    insta::assert_snapshot!(err("cluster:\n  instance_types: [m5.larg]\n"));
}

#[test]
fn a_type_the_region_does_not_offer_is_refused_with_what_it_offers() {
    insta::assert_snapshot!(err(
        "region: ap-east-2\ncluster:\n  instance_types: [c6i.large, m5.large]\n"
    ));
}

#[test]
fn a_region_the_data_does_not_know_is_not_checked() {
    let spec = parse("r.yaml", "region: xx-north-9\n").unwrap();
    assert_eq!(spec.region.as_deref(), Some("xx-north-9"));
}

#[test]
fn mixed_architectures() {
    insta::assert_snapshot!(err("cluster:\n  instance_types: [m5.large, m6g.large]\n"));
}

#[test]
fn sizes_out_of_order() {
    insta::assert_snapshot!(err("cluster:\n  min_size: 3\n  max_size: 2\n"));
}

#[test]
fn desired_capacity_is_refused_managed_scaling_owns_it() {
    insta::assert_snapshot!(err(
        "cluster:\n  min_size: 1\n  desired_capacity: 2\n  max_size: 4\n"
    ));
}

#[test]
fn task_problems_are_all_reported() {
    let text = "\
cluster:
  instance_types: [c6g.medium]
tasks:
  - family: web
    cpu: 64
    memory: 4096
    containers:
      - name: web
        image: nginx
        ports: [80, 80]
  - family: web
    cpu: 2048
    memory: 512
    containers: []
";
    insta::assert_snapshot!(err(text));
}

#[test]
fn a_service_that_cannot_be_placed_even_with_trunking() {
    let config = |desired: u32, max: u32| {
        format!(
            "cluster:\n  instance_types: [m5.large, m5.xlarge]\n  max_size: {max}\ntasks:\n  - family: web\n    cpu: 256\n    memory: 512\n    containers:\n      - name: web\n        image: nginx\n    service:\n      desired_count: {desired}\n"
        )
    };
    // m5.xlarge: 20 interfaces with trunking, 16 tasks of 256 units by CPU.
    assert!(parse("ok.yaml", &config(32, 2)).is_ok());
    insta::assert_snapshot!(err(&config(33, 2)));
}

#[test]
fn network_needs_both_keys() {
    insta::assert_snapshot!(err("network:\n  vpc_id: vpc-0a1b2c3d4e5f67890\n"));
}

#[test]
fn bad_ids() {
    insta::assert_snapshot!(err(
        "network:\n  vpc_id: vpc-xyz\n  subnet_ids: [subnet-0123456789abcdef0, sg-0123]\n"
    ));
}

#[test]
fn bad_names() {
    insta::assert_snapshot!(err(
        "stack_name: 1st stack\nregion: Europe\ntrunking:\n  instance_role_name: 'has space'\n"
    ));
}

#[test]
fn pascal_case_ids() {
    assert_eq!(pascal_case("web-api_v2"), "WebApiV2");
    assert_eq!(pascal_case("batch"), "Batch");
}

#[test]
fn punctuation_only_family_clash() {
    let text = "\
tasks:
  - family: web-api
    cpu: 256
    memory: 512
    containers: [{name: a, image: x}]
  - family: web_api
    cpu: 256
    memory: 512
    containers: [{name: a, image: x}]
";
    assert!(
        err(text).contains("differs from another only in punctuation"),
        "{}",
        err(text)
    );
}

#[test]
fn the_org_section_gives_org_deploys_defaults() {
    let spec = parse(
        "o.yaml",
        "org:\n  ous: [ou-ab12-cd345678, r-ab12]\n  regions: [us-east-1, eu-west-1]\n  max_concurrent_percent: 50\n  failure_tolerance_percent: 10\n  retain_stacks_on_account_removal: true\n  call_as: DELEGATED_ADMIN\n",
    )
    .unwrap();
    assert_eq!(
        spec.org,
        OrgSpec {
            accounts: vec![],
            ous: vec!["ou-ab12-cd345678".into(), "r-ab12".into()],
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            max_concurrent_percent: Some(50),
            failure_tolerance_percent: Some(10),
            retain_stacks_on_account_removal: true,
            delegated_admin: true,
        }
    );
    // Without `org:`, nothing is assumed.
    assert_eq!(demo().org, OrgSpec::default());
}

#[test]
fn account_ids_keep_their_digits_quoted_or_not() {
    let spec = parse(
        "o.yaml",
        "org:\n  accounts: [\"012345678901\", 111111111111]\n",
    )
    .unwrap();
    assert_eq!(spec.org.accounts, ["012345678901", "111111111111"]);
}

#[test]
fn the_starter_files_org_section_uncommented_is_valid() {
    let org: String = STARTER
        .lines()
        .skip_while(|l| *l != "# org:")
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(org.starts_with("org:\n"), "{org}");
    let spec = parse("starter.yaml", &org).unwrap_or_else(|e| panic!("{e}\n{org}"));
    assert_eq!(spec.org.ous, ["ou-abcd-12345678"]);
    assert_eq!(spec.org.regions, ["us-east-1", "eu-west-1"]);
}

#[test]
fn org_problems_are_all_reported() {
    insta::assert_snapshot!(err(
        "org:\n  accounts: [\"11111111111\", \"222222222222\"]\n  ous: [ou-x, ou-ab12-cd345678]\n  regions: [us-east-1, Europe]\n  max_concurrent_percent: 0\n  failure_tolerance_percent: 101\n  retain_stacks_on_account_removal: true\n  call_as: DELEGATED_ADMIN\n"
    ));
}
