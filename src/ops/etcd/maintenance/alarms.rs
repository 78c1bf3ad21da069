//! `etcd.alarms` and `etcd.disarm`: the alarms the cluster has raised (NOSPACE, CORRUPT),
//! each with the member it was raised for, and disarming them all or one kind.

use crate::ops::etcd::client::member::EtcdMember;
use crate::ops::etcd::maintenance::error::{v3_failed, MaintenanceError};
use etcd_client::{AlarmAction, AlarmOptions, AlarmType};
use std::collections::HashMap;

/// One raised alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// The member's id in hex, as etcdctl prints it.
    pub member_id: u64,
    /// The member's name, when the cluster lists it.
    pub member: Option<String>,
    /// The inventory host the member runs on, when the inventory has it.
    pub host: Option<String>,
    /// `NOSPACE` or `CORRUPT`.
    pub alarm: &'static str,
}

/// The alarm type a script names (`NOSPACE`, `nospace`, `CORRUPT`).
pub fn alarm_type(name: &str) -> Result<AlarmType, MaintenanceError> {
    match AlarmType::from_str_name(&name.to_ascii_uppercase()) {
        Some(kind) if kind != AlarmType::None => Ok(kind),
        _ => Err(MaintenanceError::AlarmKind {
            name: name.to_string(),
        }),
    }
}

/// Names of the cluster's members by id.
async fn member_names(
    client: &mut etcd_client::Client,
) -> Result<HashMap<u64, String>, MaintenanceError> {
    let list = client
        .member_list()
        .await
        .map_err(|e| v3_failed("member list", "the cluster", &e))?;
    Ok(list
        .members()
        .iter()
        .map(|m| (m.id(), m.name().to_string()))
        .collect())
}

/// Every raised alarm, with its member's name and host.
pub async fn list(
    client: &etcd_client::Client,
    members: &[EtcdMember],
) -> Result<Vec<Alarm>, MaintenanceError> {
    let mut client = client.clone();
    let answer = client
        .alarm(AlarmAction::Get, AlarmType::None, None)
        .await
        .map_err(|e| v3_failed("alarm list", "the cluster", &e))?;
    let raised: Vec<(u64, AlarmType)> = answer
        .alarms()
        .iter()
        .map(|a| (a.member_id(), a.alarm()))
        .collect();
    if raised.is_empty() {
        return Ok(Vec::new());
    }
    let names = member_names(&mut client).await?;
    Ok(raised
        .into_iter()
        .map(|(id, kind)| {
            let member = names.get(&id).cloned();
            let host = member.as_ref().and_then(|name| {
                members
                    .iter()
                    .find(|m| &m.name == name)
                    .map(|m| m.host_name().to_string())
            });
            Alarm {
                member_id: id,
                member,
                host,
                alarm: kind.as_str_name(),
            }
        })
        .collect())
}

/// Disarms every raised alarm, or those of `kind`; returns the alarms disarmed.
pub async fn disarm(
    client: &etcd_client::Client,
    members: &[EtcdMember],
    kind: Option<AlarmType>,
) -> Result<Vec<Alarm>, MaintenanceError> {
    let raised = list(client, members).await?;
    let mut client = client.clone();
    let mut disarmed = Vec::new();
    for alarm in raised {
        let alarm_kind = AlarmType::from_str_name(alarm.alarm).unwrap_or(AlarmType::None);
        if kind.is_some_and(|k| k != alarm_kind) {
            continue;
        }
        let mut options = AlarmOptions::new();
        options.with_member(alarm.member_id);
        client
            .alarm(AlarmAction::Deactivate, alarm_kind, Some(options))
            .await
            .map_err(|e| v3_failed("alarm disarm", "the cluster", &e))?;
        disarmed.push(alarm);
    }
    Ok(disarmed)
}
